// Private helpers of grammar/: where a directive word may start and end, shared by
// the scanners of this folder. Not installed.
#ifndef MODELPIN_GRAMMAR_WORD_BOUNDS_H_
#define MODELPIN_GRAMMAR_WORD_BOUNDS_H_

#include <cstddef>
#include <string_view>

#include <modelpin/base/text_internal.h>

namespace modelpin::grammar::internal {

// Where a directive may start: `pos` is the start of the text or follows a whitespace character.
inline bool IsBoundary(std::string_view text, size_t pos) {
  return pos == 0 || text::SpaceBeforeFast(text, pos) > 0;
}

// Where a directive word may end: `pos` is the end of the text, whitespace or ':' (nothing is consumed).
inline bool IsWordEnd(std::string_view text, size_t pos) {
  return pos >= text.size() || text[pos] == ':' || text::SpaceAtFast(text, pos) > 0;
}

// After a directive word ending at `pos`: the position past an optional "WS* ':'" ("/think: high",
// "/queue : steer"), else `pos` itself (OpenClaw's skipDirectiveArgPrefix).
inline size_t SkipArgumentPrefix(std::string_view text, size_t pos) {
  size_t i = pos;
  while (size_t n = text::SpaceAtFast(text, i)) i += n;
  return i < text.size() && text[i] == ':' ? i + 1 : pos;
}

}  // namespace modelpin::grammar::internal

#endif  // MODELPIN_GRAMMAR_WORD_BOUNDS_H_
