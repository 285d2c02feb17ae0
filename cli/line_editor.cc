#include <modelpin/cli/line_editor.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#if MODELPIN_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

namespace modelpin::cli {
namespace {

std::vector<std::string> SplitWords(std::string_view s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\n') ++j;
    if (j > i) words.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return words;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

void AddMatching(const std::vector<std::string>& from, std::string_view prefix, std::string_view word,
                 std::vector<std::string>* out) {
  for (const auto& s : from)
    if (std::string_view(s).substr(0, word.size()) == word) out->push_back(std::string(prefix) + s);
}

// "opus@anth": profile ids after the '@', keeping what comes before it.
bool AddProfiles(std::string_view word, const CompletionData& data, std::vector<std::string>* out) {
  size_t at = word.find('@');
  if (at == std::string_view::npos) return false;
  AddMatching(data.profiles, word.substr(0, at + 1), word.substr(at + 1), out);
  return true;
}

}  // namespace

std::vector<std::string> CompleteChatWord(std::string_view before, std::string_view word, const CompletionData& data) {
  std::vector<std::string> out;
  std::vector<std::string> words = SplitWords(before);
  const std::string last = words.empty() ? "" : Lower(words.back());
  const std::string second_last = words.size() < 2 ? "" : Lower(words[words.size() - 2]);
  if (!word.empty() && word[0] == '/') {
    // A command word: at the start, or inline ("hello /model opus") as the grammar allows.
    AddMatching(data.commands, "", word, &out);
  } else if (words.empty() && word.empty()) {
    AddMatching(data.commands, "", word, &out);
  } else if (last == "/model") {
    if (!AddProfiles(word, data, &out)) {
      if (auto it = data.arguments.find(last); it != data.arguments.end()) AddMatching(it->second, "", word, &out);
      AddMatching(data.models, "", word, &out);
    }
  } else if (second_last == "/model" && last == "explain") {
    if (!AddProfiles(word, data, &out)) AddMatching(data.models, "", word, &out);
  } else if (last == "/models") {
    AddMatching(data.providers, "", word, &out);
  } else if (auto it = data.arguments.find(last); it != data.arguments.end()) {
    AddMatching(it->second, "", word, &out);  // "/verbose f" -> full, "/queue st" -> steer
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool LooksLikeSecret(std::string_view line) {
  auto token_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '+' || c == '=';
  };
  size_t i = 0;
  while (i < line.size()) {
    if (!token_char(line[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    bool letter = false, digit = false;
    while (j < line.size() && token_char(line[j])) {
      if (line[j] >= '0' && line[j] <= '9') digit = true;
      else if (std::isalpha(static_cast<unsigned char>(line[j]))) letter = true;
      ++j;
    }
    std::string_view run = line.substr(i, j - i);
    // Provider keys ("sk-ant-api03-...", "sk-or-v1-...") and anything long and random-looking.
    if (run.size() >= 20 && run.substr(0, 3) == "sk-") return true;
    if (run.size() >= 32 && letter && digit) return true;
    i = j;
  }
  return false;
}

#if MODELPIN_HAVE_LIBEDIT
namespace {

// libedit calls back through plain function pointers: the editor that is reading.
const std::function<CompletionData()>* g_candidates = nullptr;
std::vector<std::string> g_matches;
size_t g_next_match = 0;

char* NextMatch(const char* text, int state) {
  (void)text;
  if (state == 0) g_next_match = 0;
  if (g_next_match >= g_matches.size()) return nullptr;
  return ::strdup(g_matches[g_next_match++].c_str());
}

char** Complete(const char* text, int start, int end) {
  (void)end;
  rl_attempted_completion_over = 1;  // never fall back to file names
  g_matches.clear();
  if (g_candidates == nullptr || !*g_candidates) return nullptr;
  const std::string line = rl_line_buffer ? rl_line_buffer : "";
  const size_t word_start = std::min(line.size(), static_cast<size_t>(std::max(start, 0)));
  g_matches = CompleteChatWord(std::string_view(line).substr(0, word_start), text, (*g_candidates)());
  if (g_matches.empty()) return nullptr;
  return rl_completion_matches(text, NextMatch);
}

// Creates `path` 0600 (or tightens an existing file) without following a symlink.
bool PrepareHistoryFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  bool ok = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  return ok;
}

}  // namespace
#endif

LineEditor::LineEditor(Options options) : options_(std::move(options)) {
#if MODELPIN_HAVE_LIBEDIT
  if (!options_.interactive) return;
  editing_ = true;
  std::setlocale(LC_CTYPE, "");  // so libedit edits UTF-8 text as characters
  rl_readline_name = "modelpin";  // ~/.editrc lines may start with "modelpin:"
  static char word_breaks[] = " \t\n";  // "opus@anth" and "anthropic/claude" are one word each
  rl_basic_word_break_characters = word_breaks;
  rl_completer_word_break_characters = word_breaks;
  rl_attempted_completion_function = Complete;
  rl_completion_append_character = ' ';
  g_candidates = &options_.candidates;
  using_history();
  stifle_history(kChatHistoryLines);
  if (!options_.history_path.empty()) {
    struct stat st;
    if (::lstat(options_.history_path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if ((st.st_mode & 077) != 0) ::chmod(options_.history_path.c_str(), 0600);
      read_history(options_.history_path.c_str());
    }
  }
#endif
}

LineEditor::~LineEditor() {
#if MODELPIN_HAVE_LIBEDIT
  if (editing_ && g_candidates == &options_.candidates) g_candidates = nullptr;
#endif
}

bool LineEditor::HasLineEditing() {
#if MODELPIN_HAVE_LIBEDIT
  return true;
#else
  return false;
#endif
}

std::optional<std::string> LineEditor::ReadLine() {
#if MODELPIN_HAVE_LIBEDIT
  if (editing_) {
    char* raw = readline(options_.prompt.c_str());
    if (raw == nullptr) {
      std::cout << "\n" << std::flush;  // Ctrl-D: leave the shell prompt on a line of its own
      return std::nullopt;
    }
    std::string line(raw);
    std::free(raw);
    return line;
  }
#endif
  if (options_.interactive) std::cout << options_.prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

void LineEditor::Remember(const std::string& line) {
#if MODELPIN_HAVE_LIBEDIT
  if (!editing_ || line.empty() || line == last_remembered_ || LooksLikeSecret(line)) return;
  last_remembered_ = line;
  add_history(line.c_str());
  // Saved after every line, so a chat ended by Ctrl-C or a closed terminal keeps its history.
  if (!options_.history_path.empty() && PrepareHistoryFile(options_.history_path)) {
    write_history(options_.history_path.c_str());
    history_truncate_file(options_.history_path.c_str(), kChatHistoryLines);
  }
#else
  (void)line;
#endif
}

}  // namespace modelpin::cli
