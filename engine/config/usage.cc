#include <modelpin/engine/config/usage.h>

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace modelpin {
namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kKeepHoursMs = 7 * kDayMs;   // hourly buckets serve 5h, 1d and 7d
constexpr int64_t kKeepDaysMs = 30 * kDayMs;   // daily buckets serve 30d
constexpr std::array<std::string_view, 4> kWindowNames = {"5h", "1d", "7d", "30d"};

int64_t Floor(int64_t t, int64_t step) { return t >= 0 ? t - t % step : t - ((t % step) + step) % step; }

void AddTo(std::vector<UsageBucket>& buckets, int64_t start, const UsageCounts& c) {
  if (buckets.empty() || buckets.back().start_ms < start) {
    buckets.push_back({start, c});
    return;
  }
  // A clock that went back (a replay's `//@ clock`): the bucket goes where it belongs.
  auto it = std::lower_bound(buckets.begin(), buckets.end(), start,
                             [](const UsageBucket& b, int64_t s) { return b.start_ms < s; });
  if (it != buckets.end() && it->start_ms == start) it->counts.Add(c);
  else buckets.insert(it, {start, c});
}

void Prune(std::vector<UsageBucket>& buckets, int64_t step, int64_t keep, int64_t now) {
  auto first_kept = std::find_if(buckets.begin(), buckets.end(),
                                 [&](const UsageBucket& b) { return b.start_ms + step + keep > now; });
  buckets.erase(buckets.begin(), first_kept);
}

// The buckets a window sums, and their length.
std::pair<const std::vector<UsageBucket>*, int64_t> Buckets(const UsageLedger& l, UsageWindow w) {
  return w == UsageWindow::k30d ? std::make_pair(&l.days, kDayMs) : std::make_pair(&l.hours, kHourMs);
}

}  // namespace

double CostUsd(const TokenUsage& t, const ModelPrice& p) {
  return (static_cast<double>(t.input) * p.input + static_cast<double>(t.output) * p.output +
          static_cast<double>(t.cache_read) * p.cache_read + static_cast<double>(t.cache_write) * p.cache_write) /
         1e6;
}

void UsageCounts::Add(const UsageCounts& o) {
  calls += o.calls;
  failures += o.failures;
  tokens.input += o.tokens.input;
  tokens.output += o.tokens.output;
  tokens.cache_read += o.tokens.cache_read;
  tokens.cache_write += o.tokens.cache_write;
  cost_usd += o.cost_usd;
  unpriced += o.unpriced;
}

std::string_view UsageWindowName(UsageWindow w) { return kWindowNames[static_cast<size_t>(w)]; }

std::optional<UsageWindow> ParseUsageWindow(std::string_view name) {
  for (size_t i = 0; i < kWindowNames.size(); ++i)
    if (kWindowNames[i] == name) return static_cast<UsageWindow>(i);
  return std::nullopt;
}

int64_t UsageWindowMs(UsageWindow w) {
  switch (w) {
    case UsageWindow::k5h: return 5 * kHourMs;
    case UsageWindow::k1d: return kDayMs;
    case UsageWindow::k7d: return 7 * kDayMs;
    case UsageWindow::k30d: return 30 * kDayMs;
  }
  return kDayMs;
}

void RecordCall(UsageLedger& l, int64_t now, std::string_view error_class, const std::optional<TokenUsage>& tokens,
                const std::optional<ModelPrice>& price) {
  UsageCounts c;
  c.calls = 1;
  if (error_class != "ok") {
    c.failures = 1;
    l.failures_by_class[std::string(error_class)] += 1;
  }
  if (tokens) {
    c.tokens = *tokens;
    // A call that used no token costs nothing, priced or not.
    if (price) c.cost_usd = CostUsd(*tokens, *price);
    else if (tokens->Total() > 0) c.unpriced = 1;
  }
  l.total.Add(c);
  AddTo(l.hours, Floor(now, kHourMs), c);
  AddTo(l.days, Floor(now, kDayMs), c);
  Prune(l.hours, kHourMs, kKeepHoursMs, now);
  Prune(l.days, kDayMs, kKeepDaysMs, now);
}

UsageCounts InWindow(const UsageLedger& l, UsageWindow w, int64_t now) {
  auto [buckets, step] = Buckets(l, w);
  const int64_t from = now - UsageWindowMs(w);
  UsageCounts out;
  for (auto it = buckets->rbegin(); it != buckets->rend() && it->start_ms + step > from; ++it)
    if (it->start_ms <= now) out.Add(it->counts);
  return out;
}

std::string_view BudgetScopeName(Budget::Scope s) {
  switch (s) {
    case Budget::Scope::kProfile: return "profile";
    case Budget::Scope::kProvider: return "provider";
    case Budget::Scope::kAgent: return "agent";
  }
  return "profile";
}

std::string_view BudgetMeasureName(Budget::Measure m) {
  switch (m) {
    case Budget::Measure::kUsd: return "usd";
    case Budget::Measure::kTokens: return "tokens";
    case Budget::Measure::kCalls: return "calls";
  }
  return "usd";
}

std::string Budget::Describe() const {
  std::string out(BudgetMeasureName(measure));
  absl::StrAppend(&out, " ", limit, " per ");
  out.append(UsageWindowName(window)).append(" for ").append(BudgetScopeName(scope));
  absl::StrAppend(&out, " ", target);
  return out;
}

double BudgetAmount(const UsageCounts& c, Budget::Measure m) {
  switch (m) {
    case Budget::Measure::kUsd: return c.cost_usd;
    case Budget::Measure::kTokens: return static_cast<double>(c.tokens.Total());
    case Budget::Measure::kCalls: return static_cast<double>(c.calls);
  }
  return 0;
}

int64_t BudgetBlockedUntil(const Budget& b, const std::vector<const UsageLedger*>& ledgers, int64_t now) {
  const int64_t window = UsageWindowMs(b.window), from = now - window;
  std::vector<std::pair<int64_t, double>> in_window;  // bucket start, amount
  double used = 0;
  int64_t step = kHourMs;
  for (const UsageLedger* l : ledgers) {
    auto [buckets, s] = Buckets(*l, b.window);
    step = s;
    for (auto it = buckets->rbegin(); it != buckets->rend() && it->start_ms + s > from; ++it) {
      if (it->start_ms > now) continue;
      double a = BudgetAmount(it->counts, b.measure);
      used += a;
      in_window.emplace_back(it->start_ms, a);
    }
  }
  if (used < b.limit) return 0;
  // The oldest buckets leave the window first: the budget frees when enough of them have.
  std::sort(in_window.begin(), in_window.end());
  for (size_t i = 0; i < in_window.size(); ++i) {
    used -= in_window[i].second;
    bool last_of_start = i + 1 == in_window.size() || in_window[i + 1].first != in_window[i].first;
    if (last_of_start && used < b.limit) return in_window[i].first + step + window;
  }
  return in_window.empty() ? now + window : in_window.back().first + step + window;
}

}  // namespace modelpin
