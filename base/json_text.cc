#include <modelpin/base/json_text.h>

#include <cstdint>
#include <cstring>

#include <modelpin/base/text.h>

namespace modelpin {

// Appends `s` as a JSON string literal, in one pass: runs of plain ASCII that need no escaping
// are copied eight bytes at a time; multi-byte UTF-8 is validated as it goes, and invalid bytes
// become U+FFFD, so the output is always valid JSON and valid UTF-8.
void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  out->push_back('"');
  size_t run = 0, i = 0;
  const size_t n = s.size();
  while (i < n) {
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      auto has_zero = [&](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
      // A byte below 0x20, a '"', a '\\' or a non-ASCII byte ends the fast run.
      uint64_t special = ((w - kOnes * 0x20) & ~w & kHigh) | has_zero(w ^ (kOnes * '"')) |
                         has_zero(w ^ (kOnes * '\\')) | (w & kHigh);
      if (special) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      char32_t cp = 0;
      size_t len = text::DecodeUtf8(s, i, &cp);
      if (cp == 0xFFFD && len == 1) {  // invalid: replace the byte
        out->append(s.data() + run, i - run);
        out->append("\xEF\xBF\xBD");
        run = i + 1;
      }
      i += len;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out->append(esc, sizeof esc);
      }
    }
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

}  // namespace modelpin
