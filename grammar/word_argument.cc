#include <modelpin/grammar/word_argument.h>

#include <modelpin/base/text.h>
#include <modelpin/base/text_internal.h>
#include <modelpin/grammar/word_bounds.h>

namespace modelpin::grammar {

std::optional<WordArgument> FindLevelDirective(std::string_view text, std::span<const std::string_view> names_lower,
                                               std::string_view (*level_of)(std::string_view)) {
  std::optional<Span> word = FindAnyWord(text, names_lower);
  if (!word) return std::nullopt;
  WordArgument out{*word, std::nullopt};
  size_t i = internal::SkipArgumentPrefix(text, word->end);
  out.span.end = i;
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
