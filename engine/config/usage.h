// What each auth profile's calls used and cost, in rolling windows, and the budgets over them
// (docs/usage-and-budgets.md). Pure: no I/O, time is a parameter.
//
// A profile's ledger keeps hourly buckets for the last 7 days and daily buckets for the last 30
// (older ones are pruned as calls are recorded: at most 168 + 31 buckets), and totals since the
// profile was first used. A window ("5h", "1d", "7d", "30d") sums the buckets that overlap it:
// the 5 h window at 10:20 holds the calls since 05:00 (hourly granularity, never less than 5 h).
//
//   UsageLedger l;
//   RecordCall(l, now, "ok", TokenUsage{1200, 350}, ModelPrice{3, 15});
//   InWindow(l, UsageWindow::k5h, now).cost_usd;  // 0.00885
#ifndef MODELPIN_ENGINE_AUTH_USAGE_H_
#define MODELPIN_ENGINE_AUTH_USAGE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelpin {

// The token counts a provider reported for one call.
struct TokenUsage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cache_read = 0;
  int64_t cache_write = 0;

  int64_t Total() const { return input + output + cache_read + cache_write; }
  bool operator==(const TokenUsage&) const = default;
};

// A model's prices in USD per million tokens: the catalog's `cost` ({input, output, cacheRead,
// cacheWrite}, OpenClaw's shape). A model without one has no price: its cost is unknown, not 0.
struct ModelPrice {
  double input = 0;
  double output = 0;
  double cache_read = 0;
  double cache_write = 0;
  bool operator==(const ModelPrice&) const = default;
};
double CostUsd(const TokenUsage& t, const ModelPrice& p);

// Counters of one bucket, one window or the totals.
struct UsageCounts {
  int64_t calls = 0;
  int64_t failures = 0;
  TokenUsage tokens;
  double cost_usd = 0;    // of the calls whose model has a price
  int64_t unpriced = 0;   // calls that reported tokens for a model without a price

  // The cost is known when no call with tokens lacked a price.
  bool CostKnown() const { return unpriced == 0; }
  void Add(const UsageCounts& o);
  bool operator==(const UsageCounts&) const = default;
};

struct UsageBucket {
  int64_t start_ms = 0;  // the hour's (or day's) first instant, UTC
  UsageCounts counts;
  bool operator==(const UsageBucket&) const = default;
};

struct UsageLedger {
  UsageCounts total;
  std::map<std::string, int64_t, std::less<>> failures_by_class;  // totals, by error class name
  std::vector<UsageBucket> hours;  // oldest first, the last 7 days
  std::vector<UsageBucket> days;   // oldest first, the last 30 days

  bool empty() const { return total.calls == 0; }
  bool operator==(const UsageLedger&) const = default;
};

enum class UsageWindow { k5h, k1d, k7d, k30d };
std::string_view UsageWindowName(UsageWindow w);  // "5h", "1d", "7d", "30d"
std::optional<UsageWindow> ParseUsageWindow(std::string_view name);
int64_t UsageWindowMs(UsageWindow w);
inline constexpr UsageWindow kUsageWindows[] = {UsageWindow::k5h, UsageWindow::k1d, UsageWindow::k7d,
                                                UsageWindow::k30d};

// Records one call: `error_class` "ok" or a failure's class name; `tokens` when the provider
// reported them; `price` the model's, when the catalog has one. Prunes buckets that left every
// window.
void RecordCall(UsageLedger& l, int64_t now_ms, std::string_view error_class, const std::optional<TokenUsage>& tokens,
                const std::optional<ModelPrice>& price);

// The counters of the calls in window `w` at `now_ms`.
UsageCounts InWindow(const UsageLedger& l, UsageWindow w, int64_t now_ms);

// `modelpin.budgets[]`: a limit on the usage of one profile, every profile of a provider, or every
// profile of an agent, over a rolling window.
struct Budget {
  enum class Scope { kProfile, kProvider, kAgent };
  enum class Measure { kUsd, kTokens, kCalls };
  Scope scope = Scope::kProfile;
  std::string target;  // the profile id, provider id (lower case) or agent id
  Measure measure = Measure::kUsd;
  double limit = 0;
  UsageWindow window = UsageWindow::k1d;
  double warn_at = 0.8;  // the share of the limit that emits budget_warning
  std::string path;      // "$.modelpin.budgets[0]", for messages

  // "usd 5 per 1d for provider anthropic"
  std::string Describe() const;
};
std::string_view BudgetScopeName(Budget::Scope s);      // "profile", "provider", "agent"
std::string_view BudgetMeasureName(Budget::Measure m);  // "usd", "tokens", "calls"

// What a budget counts of `c`: known cost in USD, tokens (all four kinds), or calls.
double BudgetAmount(const UsageCounts& c, Budget::Measure m);

// Whether the ledgers in a budget's scope have used it up at `now_ms`, and if so the instant its
// window frees enough of it (the oldest buckets leave) for the usage to be under the limit again.
// 0 when not used up.
int64_t BudgetBlockedUntil(const Budget& b, const std::vector<const UsageLedger*>& ledgers, int64_t now_ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_USAGE_H_
