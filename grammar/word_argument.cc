#include "grammar/word_argument.h"

#include "grammar/text.h"

namespace modelpin::grammar {
namespace {

bool IsArgChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<WordArgument> FindWordArgument(std::string_view text, std::string_view word_lower) {
  auto word = FindWord(text, word_lower);
  if (!word) return std::nullopt;
  WordArgument out{*word, std::nullopt};
  size_t i = word->end;
  // Optional colon, possibly after spaces: "/think: high", "/think : high".
  size_t j = i;
  while (size_t n = text::SpaceAt(text, j)) j += n;
  if (j < text.size() && text[j] == ':') {
    i = j + 1;
    out.span.end = i;
  }
  size_t k = i;
  while (size_t n = text::SpaceAt(text, k)) k += n;
  size_t start = k;
  while (k < text.size() && IsArgChar(text[k])) ++k;
  // The argument must be a whole word: followed by the end or whitespace.
  bool whole = k == text.size() || text::SpaceAt(text, k) > 0;
  bool separated = start > i || (start == i && out.span.end == i && i > word->end);
  if (k > start && whole && separated) {
    out.argument = std::string(text.substr(start, k - start));
    out.span.end = k;
  }
  return out;
}

std::optional<WordArgument> FindLevelDirective(std::string_view text, std::span<const std::string_view> names_lower,
                                               std::string_view (*level_of)(std::string_view)) {
  std::optional<Span> word;
  for (std::string_view name : names_lower) {
    auto w = FindWord(text, name);
    if (w && (!word || w->begin < word->begin)) word = w;
  }
  if (!word) return std::nullopt;
  WordArgument out{*word, std::nullopt};
  size_t i = word->end;
  size_t j = i;
  while (size_t n = text::SpaceAt(text, j)) j += n;
  if (j < text.size() && text[j] == ':') {
    i = j + 1;
    out.span.end = i;
  }
  while (size_t n = text::SpaceAt(text, i)) i += n;
  const size_t start = i;
  auto letter_or_dash = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'; };
  while (i < text.size() && letter_or_dash(text[i])) ++i;
  if (i > start) {
    std::string_view run = text.substr(start, i - start);
    if (!level_of(run).empty() || text::Trim(text.substr(i)).empty()) {
      out.argument = std::string(run);
      out.span.end = i;
    }
  }
  return out;
}

}  // namespace modelpin::grammar
