// The cheap scans every message goes through before (and instead of) a grammar: the
// "could this hold a directive at all" check, the boundary-aware word finder the PEGTL grammars
// use to pick their candidate positions, and the removal of a matched span (as OpenClaw removes it).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <modelpin/base/text.h>
#include <modelpin/base/text_internal.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/grammar/word_bounds.h>

namespace modelpin::grammar {
namespace {

// The byte before a '/' in ordinary prose and URLs is almost always a printable ASCII character
// other than space ("https://a/b", "and/or"), which rules out a boundary without decoding. Only
// control bytes, space and the tail bytes of multi-byte characters need the full check.
inline bool MayBeBoundary(std::string_view text, size_t pos) {
  if (pos == 0) return true;
  const auto prev = static_cast<uint8_t>(text[pos - 1]);
  if (prev < 0x80) return prev == ' ' || (prev >= '\t' && prev <= '\r');
  // A non-ASCII space is C2 A0 or three bytes led by E1, E2, E3 or EF; anything else is not.
  const bool two = pos >= 2 && static_cast<uint8_t>(text[pos - 2]) == 0xC2;
  const uint8_t lead = pos >= 3 ? static_cast<uint8_t>(text[pos - 3]) : 0;
  const bool three = lead == 0xE1 || lead == 0xE2 || lead == 0xE3 || lead == 0xEF;
  return (two || three) && internal::IsBoundary(text, pos);
}

// A '/' at a boundary followed by at least one non-space character: every directive and
// command word looks like that.
inline bool IsDirectiveStart(std::string_view text, size_t pos) {
  return pos + 1 < text.size() && MayBeBoundary(text, pos) && text::SpaceAtFast(text, pos + 1) == 0;
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool MayHoldDirective(std::string_view text) {
  // Most messages hold no '/' at all: memchr answers those at memory speed. From the first
  // slash on, slashes tend to be dense (URLs, paths, "and/or"), and one memchr call per slash
  // costs more than the bytes in between, so the rest is scanned 16 bytes at a time for the pair
  // "byte that may end a whitespace character, then '/'" and only those lanes are checked.
  const char* const data = text.data();
  const size_t size = text.size();
  size_t pos = text::FindByte(text, '/');
  if (pos == std::string_view::npos) return false;
  if (IsDirectiveStart(text, pos)) return true;
  ++pos;
#if defined(__GNUC__)
  // GCC/clang vector extensions: plain SSE2 on x86-64, NEON on arm64, no intrinsics needed.
  // Lanes are compared as signed bytes, so 0x80.. constants are spelled as negative numbers.
  using Bytes = signed char __attribute__((vector_size(16)));
  auto byte = [](unsigned value) { return static_cast<signed char>(value); };
  if (pos < 2 && pos < size) {
    if (data[pos] == '/' && IsDirectiveStart(text, pos)) return true;
    ++pos;
  }
  for (; pos + 17 <= size; pos += 16) {
    Bytes prev2;
    Bytes prev;
    Bytes cur;
    Bytes next;
    std::memcpy(&prev2, data + pos - 2, sizeof prev2);
    std::memcpy(&prev, data + pos - 1, sizeof prev);
    std::memcpy(&cur, data + pos, sizeof cur);
    std::memcpy(&next, data + pos + 1, sizeof next);
    // The slash must follow something that can end a whitespace character: an ASCII one, C2 A0
    // (U+00A0), or a byte whose predecessor is the middle byte of a three-byte space (80, 81,
    // 9A or BB; a superset, the exact check below decides). It must be followed by a byte that
    // is not ASCII whitespace (non-ASCII spaces after it are left to the exact check too).
    const Bytes ascii_space = (prev == ' ') | ((prev >= '\t') & (prev <= '\r'));
    const Bytes wide_space = ((prev2 == byte(0xC2)) & (prev == byte(0xA0))) |
                             (prev2 == byte(0x80)) | (prev2 == byte(0x81)) |
                             (prev2 == byte(0x9A)) | (prev2 == byte(0xBB));
    const Bytes next_ok = (next != ' ') & ((next < '\t') | (next > '\r'));
    const Bytes hit = (cur == '/') & (ascii_space | wide_space) & next_ok;
    uint64_t halves[2];
    std::memcpy(halves, &hit, sizeof halves);
    for (size_t half = 0; half < 2; ++half) {
      if (halves[half] == 0) continue;
      for (size_t lane = half * 8; lane < half * 8 + 8; ++lane) {
        if (hit[lane] != 0 && IsDirectiveStart(text, pos + lane)) return true;
      }
    }
  }
#endif
  for (; pos < size; ++pos) {
    if (data[pos] == '/' && IsDirectiveStart(text, pos)) return true;
  }
  return false;
}

std::optional<Span> FindWord(std::string_view text, std::string_view word_lower, size_t from) {
  const size_t size = text.size();
  size_t pos = from;
  while (pos < size) {
    pos = text::FindByte(text, '/', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    const size_t word_end = pos + 1 + word_lower.size();
    if (word_end <= size && MayBeBoundary(text, pos) &&
        text::StartsWithLowerAt(text, pos + 1, word_lower) &&
        internal::IsWordEnd(text, word_end)) {
      return Span{pos, word_end};
    }
    ++pos;
  }
  return std::nullopt;
}

std::optional<Span> FindAnyWord(std::string_view text, std::span<const std::string_view> words_lower) {
  const char* const data = text.data();
  const size_t size = text.size();
  for (size_t pos = 0; pos < size; ++pos) {
    pos = text::FindByte(text, '/', pos);
    if (pos == std::string_view::npos) return std::nullopt;
    if (!MayBeBoundary(text, pos)) continue;
    // Most words differ from the text in their first letter: one compare rejects them.
    const char first = pos + 1 < size ? text::LowerAscii(data[pos + 1]) : '\0';
    for (std::string_view word : words_lower) {
      if (!word.empty() && word[0] != first) continue;
      const size_t word_end = pos + 1 + word.size();
      if (word_end <= size && text::StartsWithLowerAt(text, pos + 1, word) && internal::IsWordEnd(text, word_end))
        return Span{pos, word_end};
    }
  }
  return std::nullopt;
}

std::string RemoveSpan(std::string_view text, Span span) {
  const size_t size = text.size();
  const size_t start = span.begin < size ? span.begin : size;
  const size_t end = span.end < start ? start : (span.end < size ? span.end : size);

  size_t remove_begin = start;
  size_t remove_end = end;
  const size_t newline = start == 0 ? std::string_view::npos : text.rfind('\n', start - 1);
  const size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  const std::string_view before_on_line = text.substr(line_start, start - line_start);

  // What follows the span up to the end of its line: spaces/tabs, then "\n", "\r\n" or the end
  // of the text. A lone "\r" does not end a line here (OpenClaw splits lines on "\n" only).
  size_t after = end;
  while (after < size && IsBlank(text[after])) ++after;
  std::optional<size_t> line_ending;
  if (after == size) {
    line_ending = after - end;
  } else if (text[after] == '\n') {
    line_ending = after + 1 - end;
  } else if (text[after] == '\r' && after + 1 < size && text[after + 1] == '\n') {
    line_ending = after + 2 - end;
  }

  bool blank_before = true;
  for (char c : before_on_line) blank_before = blank_before && IsBlank(c);

  if (blank_before && line_ending) {
    // The directive is alone on its line: drop the line together with its line break.
    remove_begin = line_start;
    remove_end = end + *line_ending;
  } else if (end < size && IsBlank(text[end])) {
    remove_end = end + 1;
  } else if ((end == size || text[end] == '\n' || text[end] == '\r') &&
             !text::Trim(before_on_line).empty() && start > 0 && IsBlank(text[start - 1])) {
    remove_begin = start - 1;
  }

  // A message that was nothing but the directive (the usual case) leaves nothing.
  if (remove_begin == 0 && remove_end == size) return {};
  std::string cleaned;
  cleaned.reserve(size - (remove_end - remove_begin));
  cleaned.append(text.substr(0, remove_begin));
  cleaned.append(text.substr(remove_end));
  if (text::Trim(cleaned).empty()) cleaned.clear();
  return cleaned;
}

Addressing StripBotAddress(std::string_view text, std::string_view bot_name, std::string& out) {
  auto word_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  // The "@<name>" after a "/<word>" starting at `slash`: [at, name_end), or at == npos.
  auto address = [&](size_t slash, size_t& at, size_t& name_end) {
    at = std::string_view::npos;
    size_t i = slash + 1;
    while (i < text.size() && (word_char(text[i]) || text[i] == '-')) ++i;
    if (i == slash + 1 || i >= text.size() || text[i] != '@') return;
    size_t j = i + 1;
    while (j < text.size() && word_char(text[j])) ++j;
    if (j == i + 1 || !internal::IsWordEnd(text, j)) return;
    at = i;
    name_end = j;
  };
  size_t first = 0;
  while (size_t n = text::SpaceAtFast(text, first)) first += n;
  if (first < text.size() && text[first] == '/') {
    size_t at, end;
    address(first, at, end);
    if (at != std::string_view::npos && !text::EqualsLower(text.substr(at + 1, end - at - 1), text::ToLower(bot_name)))
      return Addressing::kOtherBot;
  }
  Addressing result = Addressing::kNone;
  size_t copied = 0;
  for (size_t pos = text.find('/'); pos != std::string_view::npos; pos = text.find('/', pos + 1)) {
    if (!internal::IsBoundary(text, pos)) continue;
    size_t at, end;
    address(pos, at, end);
    if (at == std::string_view::npos || !text::EqualsLower(text.substr(at + 1, end - at - 1), text::ToLower(bot_name)))
      continue;
    if (result == Addressing::kNone) out.clear();
    result = Addressing::kThisBot;
    out.append(text.substr(copied, at - copied));
    copied = end;
    pos = end - 1;
  }
  if (result == Addressing::kThisBot) out.append(text.substr(copied));
  return result;
}

}  // namespace modelpin::grammar
