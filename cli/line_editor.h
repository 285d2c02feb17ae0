// The input side of `modelpin chat`: libedit line editing, history and tab completion on a
// terminal (when built with -Dlibedit), plain line reads otherwise.
//
//   LineEditor in({.interactive = true, .prompt = "modelpin (main)> ",
//                  .history_path = state + "/chat_history", .candidates = MyCompletions});
//   while (std::optional<std::string> line = in.ReadLine()) { in.Remember(*line); ... }
//
// Completion is split in two: CompleteChatWord() decides, from the words before the cursor, what
// the word under the cursor may become (pure, testable); the LineEditor only asks it on TAB.
#ifndef MODELPIN_CLI_LINE_EDITOR_H_
#define MODELPIN_CLI_LINE_EDITOR_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelpin::cli {

// What the chat can complete, gathered from the engine when TAB is pressed.
struct CompletionData {
  std::vector<std::string> commands;           // "/model", "/models", "/think", ..., "/quit"
  // A command word's arguments, from its plugin's CommandInfo: "/verbose" -> on, full, off;
  // "/model" -> status, list, default, explain. Aliases ("/t") have their command's.
  std::map<std::string, std::vector<std::string>, std::less<>> arguments;
  std::vector<std::string> models;             // aliases and provider/model refs of the agent
  std::vector<std::string> profiles;           // auth profile ids ("anthropic:work")
  std::vector<std::string> providers;          // provider ids, for "/models <provider>"
};

// Candidates for the whitespace-delimited `word` ending at the cursor; `before` is the line text
// in front of it. Sorted, without duplicates, each starting with `word`:
//   ("", "/mo")              -> /model /models
//   ("/model ", "st")         -> status
//   ("/model ", "opus@anth")  -> opus@anthropic:default opus@anthropic:work
//   ("/model explain ", "so") -> sonnet
//   ("hello ", "wor")         -> (nothing: ordinary text)
std::vector<std::string> CompleteChatWord(std::string_view before, std::string_view word, const CompletionData& data);

// Lines kept in the history file at most.
inline constexpr int kChatHistoryLines = 1000;

// True when a line holds something that looks like a credential (an "sk-..." key, a long
// unbroken token of letters and digits); such lines are never written to the history.
bool LooksLikeSecret(std::string_view line);

class LineEditor {
 public:
  struct Options {
    // Both stdin and stdout are terminals: prompt, and line editing when libedit is built in.
    bool interactive = false;
    std::string prompt;
    std::string history_path;  // "" = no history file
    std::function<CompletionData()> candidates;
  };

  explicit LineEditor(Options options);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // The next line without its line ending, or nullopt at end of input (Ctrl-D on a terminal).
  std::optional<std::string> ReadLine();
  // Adds a (non-blank) line to the history and saves the history file (mode 0600, at most
  // kChatHistoryLines lines). Does nothing without line editing or for a LooksLikeSecret line.
  void Remember(const std::string& line);

  // Whether this build has libedit line editing.
  static bool HasLineEditing();
  // Whether this editor edits lines (interactive, and libedit built in).
  bool editing() const { return editing_; }

 private:
  Options options_;
  bool editing_ = false;
  std::string last_remembered_;
};

}  // namespace modelpin::cli

#endif  // MODELPIN_CLI_LINE_EDITOR_H_
