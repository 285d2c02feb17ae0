// Byte-level text helpers shared by every grammar: UTF-8 decoding that never fails, the
// JavaScript `\s` whitespace class OpenClaw matches with, ASCII case folding.
//
//   std::string_view s = "\u00a0/model";
//   size_t n = modelpin::text::SpaceAt(s, 0);   // 2: U+00A0 is whitespace, two bytes long
//
// Nothing here allocates except ToLower (and Pieces::AppendTo, which grows the string it is
// given). Invalid UTF-8 decodes as U+FFFD, one byte at a time, so
// scanning always makes progress and never reads past the end.
#ifndef MODELPIN_BASE_TEXT_H_
#define MODELPIN_BASE_TEXT_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace modelpin::text {

// Decodes the code point starting at s[i] (i < s.size()). Returns its length in bytes (1..4);
// invalid or truncated sequences give length 1 and U+FFFD.
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp);

// The JavaScript `\s` class: ASCII space, TAB, LF, VT, FF, CR, U+00A0, U+1680, U+2000-U+200A,
// U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF. Not U+200B.
bool IsSpace(char32_t cp);

// Length in bytes of the whitespace character at s[i], or 0 when there is none (or i is at the end).
size_t SpaceAt(std::string_view s, size_t i);

// Length in bytes of the whitespace character that ends right before s[i], or 0.
size_t SpaceBefore(std::string_view s, size_t i);

// `s` without leading and trailing whitespace (the `\s` class).
std::string_view Trim(std::string_view s);

// ASCII-only lower-casing (command words, provider ids and aliases are compared this way).
std::string ToLower(std::string_view s);
inline char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
// `a` equals `lower` ignoring ASCII case; `lower` must already be lower case.
// Inline: most calls compare a word of the message with a constant of another length.
inline bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (LowerAscii(a[i]) != lower[i]) return false;
  return true;
}
bool StartsWithLower(std::string_view a, std::string_view lower);
// `s` is one of `words` (exact): the spelling tables of /think, /verbose and /queue.
bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> words);

// `a == b`, inlined for the short strings a turn compares by the dozen (ids, model names,
// session fields): up to 16 bytes as two overlapping word compares, longer ones by memcmp. A
// call to memcmp costs more than the compare itself at these sizes (docs/performance.md).
inline bool SameBytes(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    if (n > 16) return std::memcmp(x, y, n) == 0;
    uint64_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 8), std::memcpy(&y0, y, 8), std::memcpy(&x1, x + n - 8, 8), std::memcpy(&y1, y + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4) {
    uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, x, 4), std::memcpy(&y0, y, 4), std::memcpy(&x1, x + n - 4, 4), std::memcpy(&y1, y + n - 4, 4);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  return n == 0 || (x[0] == y[0] && x[n / 2] == y[n / 2] && x[n - 1] == y[n - 1]);
}

// The first `c` in `s` at or after `from`, or npos. A chat command is a few dozen bytes: those
// are searched by a loop, which costs less than the call to memchr; longer texts by memchr.
inline size_t FindByte(std::string_view s, char c, size_t from = 0) {
  const size_t n = s.size();
  if (from >= n) return std::string_view::npos;
  if (n - from < 32) {
    for (size_t i = from; i < n; ++i)
      if (s[i] == c) return i;
    return std::string_view::npos;
  }
  const void* hit = std::memchr(s.data() + from, c, n - from);
  return hit == nullptr ? std::string_view::npos : static_cast<size_t>(static_cast<const char*>(hit) - s.data());
}

// Two optional strings are equal (both absent, or both present with the same bytes): the
// session's fields, compared by the dozen on every pin.
inline bool SameText(const std::optional<std::string>& a, const std::optional<std::string>& b) {
  return a.has_value() == b.has_value() && (!a || SameBytes(*a, *b));
}

// Whether `s` is well-formed UTF-8 (U+FFFD itself, encoded, is fine). Fast on ASCII.
bool IsValidUtf8(std::string_view s);

// User input echoed inside a reply ("Unrecognized model \"<ref>\""): valid UTF-8, control
// characters and line breaks replaced by U+FFFD, cut at `max_bytes` (on a character boundary)
// with "…". Replies are plain text; this keeps an echo on one line and bounded.
std::string EchoSafe(std::string_view s, size_t max_bytes = 120);

// A whole reply made safe to send: valid UTF-8, no control characters (C0 but '\n' and '\t',
// DEL, C1, U+2028/U+2029), at most `max_bytes` (cut on a character boundary, "…" appended).
std::string SafeReply(std::string_view s, size_t max_bytes = 16 * 1024);
// Whether SafeReply would return `s` unchanged (one pass, no allocation).
bool IsSafeReply(std::string_view s, size_t max_bytes = 16 * 1024);

// Copies n bytes; up to 16 of them inline, as overlapping words (a reply's pieces are mostly
// that short, and a call to memcpy costs more than the copy).
inline void CopyShort(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    if (n > 16) {
      std::memcpy(dst, src, n);
      return;
    }
    uint64_t a, b;
    std::memcpy(&a, src, 8), std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8), std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4), std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4), std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    const char a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a, dst[n / 2] = b, dst[n - 1] = c;
  }
}

// Whether the eight bytes at `p` are all printable ASCII (0x20..0x7E): no byte below 0x20, none
// above 0x7E (the "hasless" and "hasmore" word tricks; exact for "any byte" questions).
inline bool PrintableAscii8(const void* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  const uint64_t above_tilde = ((w + kOnes * (0x7F - 0x7E)) | w) & kHigh;
  return (below_space | above_tilde) == 0;
}

// Whether every byte of `s` is printable ASCII (0x20..0x7E): eight bytes at a time.
inline bool IsPrintableAscii(std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (!PrintableAscii8(p + i)) return false;
  if (i == n) return true;
  if (n >= 8) return PrintableAscii8(p + n - 8);  // the last bytes: the eight that end the text
  for (; i < n; ++i)
    if (p[i] < 0x20 || p[i] > 0x7E) return false;  // signed: bytes over 0x7F are negative
  return true;
}

// Up to N pieces of text, appended to a string at once (absl::StrAppend's way for any number
// of pieces, without its AlphaNum conversions): replies built on every turn use it. The unused
// slots are never initialised (zeroing a few hundred bytes of string_views cost more than the
// copies).
//
//   text::Pieces<8> p;
//   p.Add("Model set to "), p.Add(label), p.Add(".");
//   p.AppendTo(reply);
template <size_t N>
class Pieces {
 public:
  Pieces() {}  // leaves the slots uninitialised
  void Add(std::string_view s) {
    assert(n_ < N);
    data_[n_] = s.data();
    size_[n_++] = s.size();
    total_ += s.size();
  }
  size_t size() const { return n_; }
  void AppendTo(std::string& out) const {
    size_t at = out.size();
    out.resize(at + total_);
    char* dst = out.data();
    for (size_t i = 0; i < n_; ++i) {
      CopyShort(dst + at, data_[i], size_[i]);
      at += size_[i];
    }
  }

 private:
  const char* data_[N];
  size_t size_[N];
  size_t n_ = 0;
  size_t total_ = 0;
};

// Replaces invalid UTF-8 with U+FFFD so the result is always well-formed.
std::string SanitizeUtf8(std::string_view s);

// The lines of a text, one at a time: "\n" or "\r\n" ends a line, the last line may lack one.
//   LineReader lines(text);
//   for (std::string_view line; lines.Next(&line);) Use(line, lines.number());
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  // The next line without its line break; false at the end of the text.
  bool Next(std::string_view* line);
  // 1-based number of the line Next returned last.
  int number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int number_ = 0;
};

}  // namespace modelpin::text

#endif  // MODELPIN_BASE_TEXT_H_
