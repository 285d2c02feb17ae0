#include <modelpin/plugins/queue/queue_plugin.h>

#include <charconv>
#include <cstdint>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>
#include <modelpin/grammar/queue_directive.h>

namespace modelpin {
namespace {

// Session keys (SessionState::plugin_state) and OpenClaw's defaults.
constexpr char kMode[] = "queueMode", kDebounce[] = "queueDebounceMs", kCap[] = "queueCap", kDrop[] = "queueDrop";
constexpr char kDefaultMode[] = "steer", kDefaultDebounce[] = "500", kDefaultCap[] = "20", kDefaultDrop[] = "summarize";

// OpenClaw's spellings of the queue modes and drop policies (case-insensitive); "" for none.
std::string_view QueueMode(std::string_view raw) {
  const std::string key = text::ToLower(text::Trim(raw));
  if (text::IsOneOf(key, {"interrupt", "interrupts", "abort"})) return "interrupt";
  if (text::IsOneOf(key, {"steer", "steering"})) return "steer";
  if (text::IsOneOf(key, {"followup", "follow-ups", "followups"})) return "followup";
  if (text::IsOneOf(key, {"collect", "coalesce"})) return "collect";
  return "";
}
bool IsQueueMode(std::string_view raw) { return !QueueMode(raw).empty(); }

std::string_view DropPolicy(std::string_view raw) {
  const std::string key = text::ToLower(text::Trim(raw));
  if (text::IsOneOf(key, {"old", "oldest"})) return "old";
  if (text::IsOneOf(key, {"new", "newest"})) return "new";
  if (text::IsOneOf(key, {"summarize", "summary"})) return "summarize";
  return "";
}

// A duration in milliseconds, as OpenClaw's debounce reads it: "1500" (ms), "2s", "1.5m",
// "1h30m" (base/clock.h ParseDurationMs, a bare number counting ms), case-insensitive; weeks are
// not among its units. Zero and anything unreadable are invalid.
std::optional<int64_t> DebounceMs(std::string_view raw) {
  const std::string s = text::ToLower(text::Trim(raw));
  if (s.find('w') != std::string::npos) return std::nullopt;
  return ParseDurationMs(s, /*bare_unit_ms=*/1);
}

std::optional<int64_t> Cap(std::string_view raw) {
  std::string_view s = text::Trim(raw);
  size_t i = !s.empty() && (s[0] == '+' || s[0] == '-') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k)
    if (s[k] < '0' || s[k] > '9') return std::nullopt;
  if (s[0] == '-' || s.size() - i > 15) return std::nullopt;
  int64_t v = 0;
  std::from_chars(s.data() + i, s.data() + s.size(), v);  // at most 15 digits: no overflow
  return v > 0 ? std::optional<int64_t>(v) : std::nullopt;
}

class QueuePlugin : public Plugin {
 public:
  std::string_view name() const override { return "queue"; }
  std::vector<CommandInfo> Commands() const override {
    return {{.name = "queue",
             .summary = "Show or set how messages that arrive during a run are queued.",
             .usage = "/queue [steer|interrupt|followup|collect|reset] [debounce:<duration>] [cap:<n>] "
                      "[drop:old|new|summarize]",
             .arguments = {"steer", "interrupt", "followup", "collect", "reset", "debounce:", "cap:", "drop:"}}};
  }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = grammar::FindQueueDirective(text, IsQueueMode);
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  // Only a message of directives changes the settings. Inside a longer message OpenClaw answers
  // /queue as it would alone, as a block reply, removes it from the text and changes nothing (the
  // settings are the session's, not the run's).
  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::QueueDirective&>(hit.payload);
    if (ctx.directive_only) return Answer(d, ctx.session.plugin_state);
    auto scratch = ctx.session.plugin_state;
    return AsInlineNotice(Answer(d, scratch));
  }

 private:
  static DirectiveResult Answer(const grammar::QueueDirective& d, std::map<std::string, std::string>& state) {
    if (!d.reset && !d.mode && !d.has_options()) {
      auto get = [&](const char* key, std::string_view fallback) {
        auto it = state.find(key);
        return it == state.end() ? std::string(fallback) : it->second;
      };
      return DirectiveResult::Query(absl::StrCat("Current queue settings: mode=", get(kMode, kDefaultMode),
                                                 ", debounce=", get(kDebounce, kDefaultDebounce), "ms, cap=", get(kCap, kDefaultCap),
                                                 ", drop=", get(kDrop, kDefaultDrop),
                                                 ".\nOptions: modes steer, followup, collect, interrupt; "
                                                 "debounce:<ms|s|m>, cap:<n>, drop:old|new|summarize."));
    }
    const std::string_view mode = d.mode ? QueueMode(*d.mode) : "";
    const std::optional<int64_t> debounce = d.debounce ? DebounceMs(*d.debounce) : std::nullopt;
    const std::optional<int64_t> cap = d.cap ? Cap(*d.cap) : std::nullopt;
    const std::string_view drop = d.drop ? DropPolicy(*d.drop) : "";
    std::vector<std::string> errors;
    if (d.mode && mode.empty() && !d.reset)
      errors.push_back(absl::StrCat("Unrecognized queue mode \"", *d.mode, "\". Valid modes: steer, followup, collect, interrupt."));
    if (d.debounce && !debounce)
      errors.push_back(absl::StrCat("Invalid debounce \"", *d.debounce, "\". Use ms/s/m (e.g. debounce:1500ms, debounce:2s)."));
    if (d.cap && !cap) errors.push_back(absl::StrCat("Invalid cap \"", *d.cap, "\". Use a positive integer (e.g. cap:10)."));
    if (d.drop && drop.empty())
      errors.push_back(absl::StrCat("Invalid drop policy \"", *d.drop, "\". Use drop:old, drop:new, or drop:summarize."));
    if (!errors.empty()) return DirectiveResult::Query(absl::StrJoin(errors, " "));
    // Each part is acknowledged; a reset in the same message wins over the options before it
    // ("/queue debounce:1s reset" says both and keeps the defaults, as OpenClaw does).
    std::vector<std::string> acks;
    auto set = [&](const char* key, std::string value) {
      if (!d.reset) state[key] = std::move(value);
    };
    if (!mode.empty()) {
      set(kMode, std::string(mode));
      acks.push_back(absl::StrCat("⚙️ Queue mode set to ", std::string(mode), "."));
    } else if (d.reset) {
      acks.push_back("⚙️ Queue mode reset to default.");
    }
    if (const int64_t ms = debounce.value_or(0); ms > 0) {
      set(kDebounce, absl::StrCat(ms));
      acks.push_back(absl::StrCat("⚙️ Queue debounce set to ", ms, "ms."));
    }
    if (const int64_t n = cap.value_or(0); n > 0) {
      set(kCap, absl::StrCat(n));
      acks.push_back(absl::StrCat("⚙️ Queue cap set to ", n, "."));
    }
    if (!drop.empty()) {
      set(kDrop, std::string(drop));
      acks.push_back(absl::StrCat("⚙️ Queue drop set to ", std::string(drop), "."));
    }
    if (d.reset)
      for (const char* key : {kMode, kDebounce, kCap, kDrop}) state.erase(key);
    return DirectiveResult::Ack(absl::StrJoin(acks, " "));
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeQueuePlugin() { return std::make_unique<QueuePlugin>(); }

}  // namespace modelpin
