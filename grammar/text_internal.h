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

// ASCII members of the JavaScript `\s` class: TAB, LF, VT, FF, CR and space.
inline bool IsAsciiSpace(unsigned char b) { return b == ' ' || (b >= '\t' && b <= '\r'); }

// The halves of SpaceAt / SpaceBefore for a byte that is not ASCII (s[i], resp. s[i - 1]).
size_t MultiByteSpaceAt(std::string_view s, size_t i);
size_t MultiByteSpaceBefore(std::string_view s, size_t i);

// SpaceAt and SpaceBefore with the ASCII case inline, for the scanners. The exported functions
// are never inlined, not even inside text.cc (the library is position-independent, so they
// could be interposed), and nearly every byte the scanners ask about is ASCII.
inline size_t SpaceAtFast(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return IsAsciiSpace(b) ? 1 : 0;
  return MultiByteSpaceAt(s, i);
}

inline size_t SpaceBeforeFast(std::string_view s, size_t i) {
  if (i == 0 || i > s.size()) return 0;
  const auto b = static_cast<unsigned char>(s[i - 1]);
  if (b < 0x80) return IsAsciiSpace(b) ? 1 : 0;
  return MultiByteSpaceBefore(s, i);
}

// StartsWithLower(s.substr(pos), lower), inline and without the substr: FindWord tries it at
// every '/' and it fails on the first byte almost always.
inline bool StartsWithLowerAt(std::string_view s, size_t pos, std::string_view lower) {
  if (pos > s.size() || s.size() - pos < lower.size()) return false;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (LowerAscii(s[pos + i]) != lower[i]) return false;
  }
  return true;
}

}  // namespace modelpin::text

namespace modelpin::grammar::internal {

// Spec 2.1 BOUND: `pos` is the start of the text or follows a whitespace character.
inline bool IsBoundary(std::string_view text, size_t pos) {
  return pos == 0 || text::SpaceBeforeFast(text, pos) > 0;
}

// Spec 2.1 END-CHECK: `pos` is the end of the text, whitespace or ':' (nothing is consumed).
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

#endif  // MODELPIN_GRAMMAR_TEXT_INTERNAL_H_
