#include <modelpin/grammar/queue_directive.h>

#include <modelpin/base/text.h>
#include <modelpin/base/text_internal.h>
#include <modelpin/grammar/word_bounds.h>

namespace modelpin::grammar {
namespace {

// "debounce:2s" with key "debounce" -> "2s": the text after the first ':' or '=' up to the next.
std::optional<std::string> OptionValue(std::string_view token, std::string_view lower, std::string_view key) {
  if (lower.size() <= key.size() || lower.substr(0, key.size()) != key ||
      (lower[key.size()] != ':' && lower[key.size()] != '='))
    return std::nullopt;
  std::string_view value = token.substr(key.size() + 1);
  return std::string(value.substr(0, value.find_first_of(":=")));
}

}  // namespace

std::optional<QueueDirective> FindQueueDirective(std::string_view text, bool (*is_mode)(std::string_view)) {
  auto word = FindWord(text, "queue");
  if (!word) return std::nullopt;
  QueueDirective out;
  out.span = *word;
  size_t i = internal::SkipArgumentPrefix(text, word->end);
  const size_t prefix_end = i;
  size_t consumed = i;
  while (i < text.size()) {
    size_t start = i;
    while (size_t n = text::SpaceAt(text, start)) start += n;
    if (start >= text.size()) break;
    size_t end = start;
    while (end < text.size() && text::SpaceAt(text, end) == 0) ++end;
    const std::string_view token = text.substr(start, end - start);
    const std::string lower = text::ToLower(token);
    i = end;
    if (lower == "default" || lower == "reset" || lower == "clear") {
      out.reset = true;
      consumed = i;
      break;
    }
    bool option = false;
    for (auto [key, field] : {std::pair{"debounce", &out.debounce}, std::pair{"cap", &out.cap}, std::pair{"drop", &out.drop}}) {
      if (auto v = OptionValue(token, lower, key)) {
        *field = std::move(v);
        option = true;
        break;
      }
    }
    if (option) {
      consumed = i;
      continue;
    }
    if (is_mode(token)) {
      out.mode = std::string(token);
      consumed = i;
      continue;
    }
    if (consumed == prefix_end && !out.has_options()) {
      out.mode = std::string(token);
      consumed = i;
    }
    break;
  }
  out.span.end = consumed;
  return out;
}

}  // namespace modelpin::grammar
