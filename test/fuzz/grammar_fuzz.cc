// libFuzzer target for grammar/: every entry point on arbitrary bytes, with the invariants the
// engine relies on checked after each call. A violated invariant aborts, so libFuzzer keeps the
// input as a crash.
//
//   CXX=clang++-14 meson setup build-fuzz -Dfuzzers=true -Dcpp_args=-fsanitize=fuzzer-no-link \
//       -Db_sanitize=address,undefined -Db_lundef=false
//   ninja -C build-fuzz test/fuzz/grammar_fuzz
//   build-fuzz/test/fuzz/grammar_fuzz -dict=test/fuzz/grammar.dict -max_total_time=600 corpus/
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <modelpin/base/text.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/grammar/queue_directive.h>
#include <modelpin/grammar/word_argument.h>
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::grammar::ModelDirective;
using modelpin::grammar::Span;

using modelpin::fuzz::Check;

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const size_t n = modelpin::text::DecodeUtf8(s, i, &cp);
    // U+FFFD from a one-byte step means an invalid sequence (a real U+FFFD is three bytes).
    if (cp == 0xFFFD && n == 1) return false;
    i += n;
  }
  return true;
}

// The definition MayHoldDirective implements, the slow obvious way.
bool MayHoldReference(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '/' && (i == 0 || modelpin::text::SpaceBefore(text, i) > 0) &&
        modelpin::text::SpaceAt(text, i + 1) == 0) {
      return true;
    }
  }
  return false;
}

void CheckDirective(std::string_view text, const std::optional<ModelDirective>& d) {
  if (!d) return;
  Check(d->span.begin <= d->span.end, "span begin <= end");
  Check(d->span.end <= text.size(), "span within the text");
  Check(text[d->span.begin] == '/', "span starts with '/'");
  Check(modelpin::grammar::RemoveSpan(text, d->span).size() <= text.size(),
        "removal never grows the text");
  if (const auto* s = std::get_if<modelpin::grammar::model::Select>(&d->action)) {
    Check(!s->model.empty(), "a selection has a model");
    Check(IsValidUtf8(s->model), "model is valid UTF-8");
    Check(!s->profile || (!s->profile->empty() && IsValidUtf8(*s->profile)),
          "profile is non-empty valid UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  namespace g = modelpin::grammar;
  namespace t = modelpin::text;
  static const std::vector<std::string> kAliases = {"opus", "sonnet", "llama", "a@b", " x:y "};

  const bool may = g::MayHoldDirective(text);
  Check(may == MayHoldReference(text), "MayHoldDirective matches its definition");

  const auto directive = g::FindModelDirective(text);
  const auto shorthand = g::FindAliasShorthand(text, kAliases);
  const auto models = g::ParseModelsCommand(text);
  CheckDirective(text, directive);
  CheckDirective(text, shorthand);
  Check(!(directive && shorthand), "no shorthand next to a /model directive");
  Check(may || (!directive && !shorthand && !models), "the pre-check never hides a directive");
  if (models) {
    Check(models->page >= 1 && models->page_size >= 1 && models->page_size <= 100,
          "models paging within limits");
  }

  const size_t from = size == 0 ? 0 : data[0] % (size + 1);
  if (const auto word = g::FindWord(text, "model", from)) {
    Check(word->begin >= from && word->begin < word->end && word->end <= size, "FindWord span");
  }
  static constexpr std::string_view kNames[] = {"thinking", "think", "t"};
  auto level_of = [](std::string_view run) { return run.size() == 4 ? run : std::string_view(); };
  if (const auto arg = g::FindLevelDirective(text, kNames, level_of)) {
    Check(arg->span.begin < arg->span.end && arg->span.end <= size, "FindLevelDirective span");
    Check(may, "the pre-check never hides a level directive");
    Check(g::RemoveSpan(text, arg->span).size() <= size, "level directive removal never grows the text");
  }
  auto is_mode = [](std::string_view token) { return token == "steer" || token == "collect"; };
  if (const auto queue = g::FindQueueDirective(text, is_mode)) {
    Check(queue->span.begin < queue->span.end && queue->span.end <= size, "FindQueueDirective span");
    Check(may, "the pre-check never hides /queue");
    Check(g::RemoveSpan(text, queue->span).size() <= size, "queue removal never grows the text");
  }
  const Span span{size == 0 ? 0 : data[size - 1] % (size + 2), size / 2};
  Check(g::RemoveSpan(text, span).size() <= size, "removal of any span never grows the text");

  const std::string_view trimmed = t::Trim(text);
  Check(t::Trim(trimmed) == trimmed, "Trim is idempotent");
  const std::string clean = t::SanitizeUtf8(text);
  Check(IsValidUtf8(clean) && t::SanitizeUtf8(clean) == clean, "SanitizeUtf8 gives valid UTF-8");
  Check(t::ToLower(text).size() == size, "ToLower keeps the length");
  for (size_t i = 0; i < size; ++i) {
    char32_t cp = 0;
    const size_t n = t::DecodeUtf8(text, i, &cp);
    Check(n >= 1 && n <= 4 && i + n <= size, "DecodeUtf8 stays in bounds");
    Check(t::SpaceAt(text, i) <= size - i, "SpaceAt stays in bounds");
    Check(t::SpaceBefore(text, i) <= i, "SpaceBefore stays in bounds");
  }
  return 0;
}
