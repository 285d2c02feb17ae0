// Private helpers of grammar/: shared by the .cc files of this folder and by the grammar tests,
// not installed.
#ifndef MODELPIN_GRAMMAR_TEXT_INTERNAL_H_
#define MODELPIN_GRAMMAR_TEXT_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "grammar/text.h"

namespace modelpin::text {

// Appends the UTF-8 encoding of `cp` (a Unicode scalar value, never a surrogate).
void AppendUtf8(char32_t cp, std::string* out);

}  // namespace modelpin::text

namespace modelpin::grammar::internal {

// Spec 2.1 BOUND: `pos` is the start of the text or follows a whitespace character.
inline bool IsBoundary(std::string_view text, size_t pos) {
  return pos == 0 || text::SpaceBefore(text, pos) > 0;
}

// Spec 2.1 END-CHECK: `pos` is the end of the text, whitespace or ':' (nothing is consumed).
inline bool IsWordEnd(std::string_view text, size_t pos) {
  return pos >= text.size() || text[pos] == ':' || text::SpaceAt(text, pos) > 0;
}

}  // namespace modelpin::grammar::internal

#endif  // MODELPIN_GRAMMAR_TEXT_INTERNAL_H_
