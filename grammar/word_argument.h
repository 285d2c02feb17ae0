// The syntax of OpenClaw's level directives ("/think high", "/t: low", "/verbose on"). Plugins
// own the meaning of the names and levels; this only finds them.
#ifndef MODELPIN_GRAMMAR_WORD_ARGUMENT_H_
#define MODELPIN_GRAMMAR_WORD_ARGUMENT_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <modelpin/grammar/directive.h>

namespace modelpin::grammar {

struct WordArgument {
  Span span;                            // "/name" through the argument, if any
  std::optional<std::string> argument;  // as typed
};

// The first level directive "/" NAME [WS* ":"] [WS* RUN] of `text`, NAME any of `names_lower`
// (case-insensitive, at a directive boundary), RUN the ASCII letters and '-' that follow. RUN is
// the argument when `level_of(RUN)` names a level (is not empty) or only whitespace follows it;
// otherwise the directive has no argument and RUN stays in the text: "/think hard hello" leaves
// "hard hello", while "/think high2" takes "high" and leaves "2".
std::optional<WordArgument> FindLevelDirective(std::string_view text, std::span<const std::string_view> names_lower,
                                               std::string_view (*level_of)(std::string_view));

}  // namespace modelpin::grammar

#endif  // MODELPIN_GRAMMAR_WORD_ARGUMENT_H_
