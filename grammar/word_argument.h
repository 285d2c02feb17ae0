// The syntax shared by simple session directives such as "/think high", "/verbose on",
// "/queue collect":  "/" WORD [WS* ":"] [WS+ ARG]   with ARG = letters, digits, '-', '_'.
// Plugins own the meaning of WORD and ARG; this only finds them.
#ifndef MODELPIN_GRAMMAR_WORD_ARGUMENT_H_
#define MODELPIN_GRAMMAR_WORD_ARGUMENT_H_

#include <optional>
#include <string>
#include <string_view>

#include "grammar/directive.h"

namespace modelpin::grammar {

struct WordArgument {
  Span span;                         // "/word" through the argument, if any
  std::optional<std::string> argument;  // as typed
};

// The first "/<word_lower>" directive of `text` (case-insensitive word, at a directive boundary),
// with its argument when one follows.
std::optional<WordArgument> FindWordArgument(std::string_view text, std::string_view word_lower);

}  // namespace modelpin::grammar

#endif  // MODELPIN_GRAMMAR_WORD_ARGUMENT_H_
