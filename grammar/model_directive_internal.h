// FindModelDirective's two ways, for the test that proves them equal and the benchmark that
// says what the short one saves (not installed).
//
//   EXPECT_EQ(FindModelDirective(text), FindModelDirectiveByGrammar(text));
#ifndef MODELPIN_GRAMMAR_MODEL_DIRECTIVE_INTERNAL_H_
#define MODELPIN_GRAMMAR_MODEL_DIRECTIVE_INTERNAL_H_

#include <optional>
#include <string_view>

#include <modelpin/grammar/directive.h>

namespace modelpin::grammar {

// FindModelDirective without its short way for "/model <plain reference>": the PEGTL rules
// alone, on every text.
std::optional<ModelDirective> FindModelDirectiveByGrammar(std::string_view text);

// The short way alone: the directive of a text that is exactly "/model ", then a plain
// reference (an ASCII letter or digit, then letters, digits and ". _ - / :", no "//" and no
// '/' last), and nothing after; nullopt for any other text (the grammar then decides).
std::optional<ModelDirective> FindSimpleModelSelect(std::string_view text);

}  // namespace modelpin::grammar

#endif  // MODELPIN_GRAMMAR_MODEL_DIRECTIVE_INTERNAL_H_
