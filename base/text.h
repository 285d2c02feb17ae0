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
#include <cstring>
#include <initializer_list>
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
bool EqualsLower(std::string_view a, std::string_view lower);
bool StartsWithLower(std::string_view a, std::string_view lower);
// `s` is one of `words` (exact): the spelling tables of /think, /verbose and /queue.
bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> words);

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
  }
  size_t size() const { return n_; }
  void AppendTo(std::string& out) const {
    size_t at = out.size(), total = at;
    for (size_t i = 0; i < n_; ++i) total += size_[i];
    out.resize(total);
    char* dst = out.data();
    for (size_t i = 0; i < n_; ++i) {
      if (size_[i] != 0) std::memcpy(dst + at, data_[i], size_[i]);
      at += size_[i];
    }
  }

 private:
  const char* data_[N];
  size_t size_[N];
  size_t n_ = 0;
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
