// Private helpers of base/text.cc that the grammar scanners use too (the ASCII fast paths of
// SpaceAt / SpaceBefore, UTF-8 encoding). Not installed.
#ifndef MODELPIN_BASE_TEXT_INTERNAL_H_
#define MODELPIN_BASE_TEXT_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include <modelpin/base/text.h>

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

#endif  // MODELPIN_BASE_TEXT_INTERNAL_H_
