#include <modelpin/plugins/usage/usage_plugin.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/config/usage.h>

namespace modelpin {
namespace {

constexpr const char* kStateKey = "responseUsage";

// OpenClaw's spellings of the footer modes (case-insensitive); "" for none.
std::string_view FooterMode(std::string_view raw) {
  std::string key = text::ToLower(text::Trim(raw));
  if (text::IsOneOf(key, {"off", "false", "no", "0", "disable", "disabled"})) return "off";
  if (text::IsOneOf(key, {"on", "true", "yes", "1", "enable", "enabled", "tokens", "token", "tok", "minimal", "min"}))
    return "tokens";
  if (text::IsOneOf(key, {"full", "session"})) return "full";
  return "";
}

bool IsReset(std::string_view raw) {
  std::string key = text::ToLower(text::Trim(raw));
  return text::IsOneOf(key, {"default", "inherit", "inherited", "clear", "reset", "unpin"});
}

// "$0.0443", "unknown", "$0.01 + unknown".
std::string Cost(const UsageCounts& c) {
  std::string known = absl::StrCat("$", absl::StrFormat("%.4f", c.cost_usd));
  if (c.CostKnown()) return known;
  return c.cost_usd > 0 ? known + " + unknown" : "unknown";
}

// One line per profile that has reported calls: the last day and the last 30 days.
std::string CostSummary(const TurnContext& ctx) {
  std::string out = "💸 Usage by auth profile (last 1d / 30d):";
  int shown = 0;
  for (const Credential& c : ctx.auth.profiles()) {
    UsageStats u = ctx.auth.Usage(c.id);
    if (u.usage.empty()) continue;
    ++shown;
    UsageCounts day = InWindow(u.usage, UsageWindow::k1d, ctx.now_ms);
    UsageCounts month = InWindow(u.usage, UsageWindow::k30d, ctx.now_ms);
    absl::StrAppend(&out, "\n", c.id, ": ", Cost(day), " / ", Cost(month), " (", day.calls,
                    day.calls == 1 ? " call, " : " calls, ", day.tokens.input, " in / ", day.tokens.output,
                    " out tokens today)");
    if (u.budget_until > ctx.now_ms)
      absl::StrAppend(&out, "; over budget (", u.budget_reason, ") until ", FormatUtc(u.budget_until));
  }
  if (shown == 0) absl::StrAppend(&out, "\nNo call has been reported yet.");
  return out;
}

class UsagePlugin : public Plugin {
 public:
  std::string_view name() const override { return "usage"; }
  std::vector<CommandInfo> Commands() const override {
    return {{.name = "usage",
             .summary = "Usage footer or cost summary.",
             .usage = "/usage off|tokens|full|reset|cost",
             .arguments = {"off", "tokens", "full", "reset", "cost"}}};
  }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    std::string_view t = text::Trim(text);
    if (!text::StartsWithLower(t, "/usage")) return std::nullopt;
    std::string_view rest = t.substr(6);
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
    rest = text::Trim(rest);
    auto reply = [](std::string s) { return std::vector<Reply>{{std::move(s), false}}; };
    if (text::StartsWithLower(rest, "cost")) {
      // What every profile of the agent cost is for owners (modelpin's; OpenClaw shows the
      // session's own cost here).
      if (!ctx.sender_is_owner) return reply("⚙️ The cost by auth profile is shown to owners only.");
      return reply(CostSummary(ctx));
    }
    std::string_view requested = rest.empty() ? std::string_view() : FooterMode(rest);
    const bool reset = !rest.empty() && IsReset(rest);
    if (!rest.empty() && requested.empty() && !reset) return reply("⚙️ Usage: /usage off|tokens|full|reset|cost");
    if (reset) {
      ctx.session.plugin_state.erase(kStateKey);
      return reply("⚙️ Usage footer: reset to default.");
    }
    std::string_view current = "off";
    if (auto it = ctx.session.plugin_state.find(kStateKey); it != ctx.session.plugin_state.end()) {
      std::string_view stored = FooterMode(it->second);
      if (!stored.empty()) current = stored;
    }
    std::string_view next = !requested.empty() ? requested
                            : current == "off" ? std::string_view("tokens")
                            : current == "tokens" ? std::string_view("full")
                                                  : std::string_view("off");
    ctx.session.plugin_state[kStateKey] = std::string(next);
    return reply(absl::StrCat("⚙️ Usage footer: ", std::string(next), "."));
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeUsagePlugin() { return std::make_unique<UsagePlugin>(); }

}  // namespace modelpin
