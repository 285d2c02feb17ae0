#include <modelpin/base/text.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <cstdint>
#include <string>
#include <string_view>

#include <modelpin/base/text_internal.h>

namespace modelpin::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

inline uint8_t Byte(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
inline bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

}  // namespace

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp) {
  // Strict decoding (no overlong forms, no surrogates, nothing above U+10FFFF), the same set of
  // sequences PEGTL's utf8 rules accept, so the hand-written scanners and the grammar agree on
  // where every character starts.
  const size_t n = s.size();
  if (i >= n) {
    *cp = kReplacement;
    return 1;
  }
  const uint8_t b0 = Byte(s, i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len = 0;
  char32_t value = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    value = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    value = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    value = b0 & 0x07;
    min = 0x10000;
  } else {
    *cp = kReplacement;
    return 1;
  }
  if (n - i < len) {
    *cp = kReplacement;
    return 1;
  }
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = Byte(s, i + k);
    if (!IsContinuation(b)) {
      *cp = kReplacement;
      return 1;
    }
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    *cp = kReplacement;
    return 1;
  }
  *cp = value;
  return len;
}

bool IsSpace(char32_t cp) {
  if (cp < 0x80) return IsAsciiSpace(static_cast<uint8_t>(cp));
  switch (cp) {
    case 0x00A0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
    case 0xFEFF:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

size_t MultiByteSpaceAt(std::string_view s, size_t i) {
  const uint8_t b = Byte(s, i);
  // Every non-ASCII space starts with one of these lead bytes; skip decoding for the rest.
  if (b != 0xC2 && b != 0xE1 && b != 0xE2 && b != 0xE3 && b != 0xEF) return 0;
  char32_t cp = 0;
  const size_t len = DecodeUtf8(s, i, &cp);
  return (len > 1 && IsSpace(cp)) ? len : 0;
}

size_t MultiByteSpaceBefore(std::string_view s, size_t i) {
  // A multi-byte space ends in a continuation byte; its lead byte (C2, E1, E2, E3 or EF) can
  // never be the continuation of an earlier sequence, so looking backwards gives the same
  // answer as decoding forwards from the start of the text.
  if (i >= 2 && Byte(s, i - 2) == 0xC2) {
    char32_t cp = 0;
    if (DecodeUtf8(s, i - 2, &cp) == 2 && IsSpace(cp)) return 2;
  }
  if (i >= 3) {
    const uint8_t lead = Byte(s, i - 3);
    if (lead == 0xE1 || lead == 0xE2 || lead == 0xE3 || lead == 0xEF) {
      char32_t cp = 0;
      if (DecodeUtf8(s, i - 3, &cp) == 3 && IsSpace(cp)) return 3;
    }
  }
  return 0;
}

size_t SpaceAt(std::string_view s, size_t i) { return SpaceAtFast(s, i); }

size_t SpaceBefore(std::string_view s, size_t i) { return SpaceBeforeFast(s, i); }

std::string_view Trim(std::string_view s) {
  // Most texts start and end with a visible ASCII character: nothing to trim. (A space that is
  // not ASCII starts with a byte >= 0xC2 and ends with one >= 0x80.)
  auto visible = [](char c) { return c > ' ' && c < 0x7F; };
  if (!s.empty() && visible(s.front()) && visible(s.back())) return s;
  size_t begin = 0;
  while (size_t n = SpaceAtFast(s, begin)) begin += n;
  size_t end = s.size();
  while (end > begin) {
    const size_t n = SpaceBeforeFast(s, end);
    if (n == 0) break;
    end -= n;
  }
  return s.substr(begin, end - begin);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

bool IsOneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words)
    if (s == w) return true;
  return false;
}

bool StartsWithLower(std::string_view a, std::string_view lower) { return StartsWithLowerAt(a, 0, lower); }

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // ASCII runs, eight bytes at a time: the common case for chat text and JSON output.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (cp == kReplacement && len == 1) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  if (IsValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    const size_t len = DecodeUtf8(s, i, &cp);
    if (cp == kReplacement && len == 1) {
      AppendUtf8(kReplacement, &out);
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

namespace {

// Shared by EchoSafe and SafeReply: copies `s` decoding UTF-8, dropping or replacing control
// characters, and stopping before `max_bytes` would be exceeded.
std::string Clean(std::string_view s, size_t max_bytes, bool keep_newlines) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes) + 3);
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    size_t len = DecodeUtf8(s, i, &cp);
    bool invalid = cp == kReplacement && len == 1;
    bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x2028 || cp == 0x2029;
    bool keep = keep_newlines && (cp == '\n' || cp == '\t');
    size_t add = (invalid || (control && !keep)) ? 3 : len;
    // Leave room for the three bytes of "…" so the result never exceeds max_bytes.
    if (out.size() + add + 3 > max_bytes && i + len < s.size()) {
      out += "\xE2\x80\xA6";  // …
      return out;
    }
    if (out.size() + add > max_bytes) {
      out += "\xE2\x80\xA6";  // …
      return out;
    }
    if (invalid || (control && !keep)) AppendUtf8(kReplacement, &out);
    else out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

bool LineReader::Next(std::string_view* line) {
  if (pos_ >= text_.size()) return false;
  size_t nl = text_.find('\n', pos_);
  size_t end = nl == std::string_view::npos ? text_.size() : nl;
  *line = text_.substr(pos_, end - pos_);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  pos_ = nl == std::string_view::npos ? text_.size() : nl + 1;
  ++number_;
  return true;
}

std::string EchoSafe(std::string_view s, size_t max_bytes) { return Clean(s, max_bytes, false); }

bool IsSafeReply(std::string_view s, size_t max_bytes) {
  if (s.size() > max_bytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  // Every reply is checked before it leaves, and most are printable ASCII through and through:
  // those bytes are skipped eight at a time. They are whole UTF-8 characters, so the UTF-8 check
  // needs only the text from the first other byte on.
  size_t i = 0;
#ifdef __SSE2__
  // Sixteen at a time where the CPU can (every x86-64 can): a reply is checked on every turn.
  {
    const __m128i low = _mm_set1_epi8(0x1F), high = _mm_set1_epi8(0x7F);
    while (i + 16 <= n) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      // Signed compares: bytes of 0x80 and over are negative, below 0x20 too.
      const __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, low), _mm_cmplt_epi8(v, high));
      if (_mm_movemask_epi8(ok) != 0xFFFF) break;
      i += 16;
    }
  }
#endif
  while (i + 8 <= n && PrintableAscii8(p + i)) i += 8;
  // The last (up to seven) bytes: the eight that end the text, read again in part, settle them.
  if (i == n || (n >= 8 && i + 8 > n && PrintableAscii8(p + n - 8))) return true;
  if (!IsValidUtf8(s.substr(i))) return false;
  for (; i < n; ++i) {
    while (i + 8 <= n && PrintableAscii8(p + i)) i += 8;
    if (i == n) break;
    unsigned char c = p[i];
    if (c >= 0x20 && c < 0x7F) continue;
    if (c == '\n' || c == '\t' || c >= 0xC3) {
      // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 (valid UTF-8, so the bytes are there).
      if (c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) return false;
      continue;
    }
    if (c == 0xC2) {  // U+0080..U+00BF: C1 controls are U+0080..U+009F
      if (p[i + 1] < 0xA0) return false;
      continue;
    }
    if (c >= 0x80) continue;  // continuation bytes
    return false;             // C0 or DEL
  }
  return true;
}

std::string SafeReply(std::string_view s, size_t max_bytes) {
  if (IsSafeReply(s, max_bytes)) return std::string(s);
  return Clean(s, max_bytes, true);
}

}  // namespace modelpin::text
