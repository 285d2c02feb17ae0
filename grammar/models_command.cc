// ParseModelsCommand: the /models command line (its arguments: docs/compatibility.md).
//
// OpenClaw first normalises the command body (first line only, "/cmd: args" -> "/cmd args",
// the registered command word lower-cased) and then checks, case-sensitively, that the result
// starts with "/models". That is why "/MODELS x" works, "/modelsfoo" reaches the handler with
// the provider "/modelsfoo", and "/MODELSFOO" (not a registered word, so not lower-cased) does not.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/base/text.h>
#include <modelpin/grammar/directive.h>

namespace modelpin::grammar {
namespace {

constexpr int kMaxPageSize = 100;

std::string_view TrimStart(std::string_view s) {
  size_t i = 0;
  while (size_t n = text::SpaceAt(s, i)) i += n;
  return s.substr(i);
}

std::vector<std::string_view> SplitOnSpaces(std::string_view s) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < s.size()) {
    while (size_t n = text::SpaceAt(s, i)) i += n;
    const size_t begin = i;
    while (i < s.size() && text::SpaceAt(s, i) == 0) ++i;
    if (i > begin) tokens.push_back(s.substr(begin, i - begin));
  }
  return tokens;
}

// A strictly positive base-10 integer: optional sign, ASCII digits only. JavaScript accepts
// values up to 2^53-1; they are saturated to INT_MAX here, which is still "out of range" for
// any real page count.
std::optional<int> ParsePositiveInteger(std::string_view s) {
  s = text::Trim(s);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (value <= kMaxSafeInteger) value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > kMaxSafeInteger || negative || value == 0) return std::nullopt;
  constexpr auto kIntMax = static_cast<uint64_t>(std::numeric_limits<int>::max());
  return static_cast<int>(value < kIntMax ? value : kIntMax);
}

// The arguments after "/models", or nullopt when the text is not a /models command.
std::optional<std::string_view> ModelsArguments(std::string_view text, std::string* storage) {
  std::string_view body = text::Trim(text);
  if (body.empty() || body[0] != '/') return std::nullopt;
  const size_t newline = body.find('\n');
  if (newline != std::string_view::npos) body = text::Trim(body.substr(0, newline));

  // The command word: everything up to whitespace or ':'.
  size_t word_end = 1;
  while (word_end < body.size() && body[word_end] != ':' && text::SpaceAt(body, word_end) == 0) {
    ++word_end;
  }
  const std::string_view word = body.substr(1, word_end - 1);
  std::string_view rest = body.substr(word_end);
  bool colon_form = false;
  if (!word.empty()) {
    const std::string_view after = TrimStart(rest);
    if (!after.empty() && after[0] == ':') {
      colon_form = true;
      rest = TrimStart(after.substr(1));
    }
  }
  if (colon_form || text::EqualsLower(word, "models")) {
    // Rebuild "/word rest"; the registered word gets its canonical (lower) case.
    const bool registered = text::EqualsLower(word, "models");
    const std::string_view head = registered ? std::string_view("models") : word;
    const std::string_view args = TrimStart(rest);
    storage->clear();
    storage->reserve(head.size() + args.size() + 2);
    storage->push_back('/');
    storage->append(head.data(), head.size());
    if (!args.empty()) {
      storage->push_back(' ');
      storage->append(args.data(), args.size());
    }
    body = *storage;
  }
  if (body.substr(0, 7) != "/models") return std::nullopt;
  // "/models\b": the word "models" ends unless an ASCII word character follows; otherwise
  // (e.g. "/modelsfoo") the whole body counts as the arguments.
  if (body.size() > 7) {
    const char next = body[7];
    const char lower = text::LowerAscii(next);
    const bool word_char =
        (lower >= 'a' && lower <= 'z') || (next >= '0' && next <= '9') || next == '_';
    if (word_char) return text::Trim(body);
  }
  return text::Trim(body.substr(7));
}

ModelsCommand ParseList(const std::vector<std::string_view>& tokens, size_t first) {
  ModelsCommand command;
  if (first >= tokens.size()) return command;  // no provider: the providers view
  command.kind = ModelsCommand::Kind::kList;
  command.provider = text::ToLower(text::Trim(tokens[first]));
  for (size_t i = first + 1; i < tokens.size(); ++i) {
    const std::string lower = text::ToLower(tokens[i]);
    if (lower == "all" || lower == "--all") {
      command.all = true;
      continue;
    }
    if (lower.rfind("page=", 0) == 0) {
      if (std::optional<int> page = ParsePositiveInteger(std::string_view(lower).substr(5))) {
        command.page = *page;
      }
      continue;
    }
    if (std::optional<int> page = ParsePositiveInteger(lower)) command.page = *page;
  }
  // The page size is looked for in every token, the provider's included ("/models limit=5").
  for (size_t i = first; i < tokens.size(); ++i) {
    const std::string lower = text::ToLower(tokens[i]);
    if (lower.rfind("limit=", 0) == 0 || lower.rfind("size=", 0) == 0) {
      const std::string_view value = std::string_view(lower).substr(lower.find('=') + 1);
      if (std::optional<int> size = ParsePositiveInteger(value)) {
        command.page_size = *size < kMaxPageSize ? *size : kMaxPageSize;
      }
    }
  }
  return command;
}

}  // namespace

std::optional<ModelsCommand> ParseModelsCommand(std::string_view text) {
  std::string storage;
  const std::optional<std::string_view> args = ModelsArguments(text, &storage);
  if (!args) return std::nullopt;
  const std::vector<std::string_view> tokens = SplitOnSpaces(*args);
  if (tokens.empty()) return ModelsCommand{};
  const std::string first = text::ToLower(tokens[0]);
  if (first == "providers") return ModelsCommand{};
  if (first == "list") return ParseList(tokens, 1);
  if (first == "add") {
    ModelsCommand command;
    command.kind = ModelsCommand::Kind::kAdd;
    if (tokens.size() > 1) command.provider = text::ToLower(tokens[1]);
    return command;
  }
  return ParseList(tokens, 0);
}

}  // namespace modelpin::grammar
