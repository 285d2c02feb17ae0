// The cheap scans every message goes through before (and instead of) a grammar: the
// "could this hold a directive at all" check, the boundary-aware word finder the PEGTL grammars
// use to pick their candidate positions, and the removal of a matched span (spec 2.3).
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "grammar/directive.h"
#include "grammar/text.h"
#include "grammar/text_internal.h"

namespace modelpin::grammar {
namespace {

// The byte before a '/' in ordinary prose and URLs is almost always a printable ASCII character
// other than space ("https://a/b", "and/or"), which rules out a boundary without decoding. Only
// control bytes, space and the tail bytes of multi-byte characters need the full check.
inline bool MayBeBoundary(std::string_view text, size_t pos) {
  if (pos == 0) return true;
  const auto prev = static_cast<uint8_t>(text[pos - 1]);
  if (prev > 0x20 && prev < 0x80) return false;
  return internal::IsBoundary(text, pos);
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

bool MayHoldDirective(std::string_view text) {
  const char* const data = text.data();
  const size_t size = text.size();
  size_t pos = 0;
  while (pos < size) {
    const void* hit = std::memchr(data + pos, '/', size - pos);
    if (hit == nullptr) return false;
    pos = static_cast<size_t>(static_cast<const char*>(hit) - data);
    // Every directive and command word is "/" followed by at least one non-space character.
    if (pos + 1 < size && MayBeBoundary(text, pos) && text::SpaceAt(text, pos + 1) == 0) {
      return true;
    }
    ++pos;
  }
  return false;
}

std::optional<Span> FindWord(std::string_view text, std::string_view word_lower, size_t from) {
  const char* const data = text.data();
  const size_t size = text.size();
  size_t pos = from;
  while (pos < size) {
    const void* hit = std::memchr(data + pos, '/', size - pos);
    if (hit == nullptr) return std::nullopt;
    pos = static_cast<size_t>(static_cast<const char*>(hit) - data);
    const size_t word_end = pos + 1 + word_lower.size();
    if (word_end <= size && MayBeBoundary(text, pos) &&
        text::StartsWithLower(text.substr(pos + 1), word_lower) &&
        internal::IsWordEnd(text, word_end)) {
      return Span{pos, word_end};
    }
    ++pos;
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

  std::string cleaned;
  cleaned.reserve(size - (remove_end - remove_begin));
  cleaned.append(text.substr(0, remove_begin));
  cleaned.append(text.substr(remove_end));
  if (text::Trim(cleaned).empty()) cleaned.clear();
  return cleaned;
}

}  // namespace modelpin::grammar
