#include <modelpin/observe/metrics.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include <modelpin/engine/auth/auth_order.h>

namespace modelpin {

namespace {

constexpr std::string_view kTurnNames[kTurnKinds] = {"text", "command", "ignored", "error"};
constexpr size_t kShards = 16;
constexpr char kSep = '\x1f';  // between label values in a series key

// A label value as the text format wants it: backslash, double quote and line feed escaped.
void AppendLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%.15g", v);  // 5e-06, 0.25, 30
}

}  // namespace

std::string_view TurnKindName(TurnKind kind) { return kTurnNames[static_cast<int>(kind)]; }

TurnKind KindOf(const Outcome& outcome) {
  if (outcome.route) return TurnKind::kText;
  return outcome.replies.empty() ? TurnKind::kIgnored : TurnKind::kCommand;
}

// One labelled counter or histogram family.
struct Metrics::Family {
  struct Cell {
    std::vector<std::string> labels;
    std::atomic<uint64_t> count{0};
    std::unique_ptr<std::atomic<uint64_t>[]> buckets;  // histograms: per bucket, not cumulative
    std::atomic<uint64_t> sum_ns{0};                   // histograms: the sum, in nanoseconds
  };
  struct Shard {
    std::mutex mu;
    absl::flat_hash_map<std::string, std::unique_ptr<Cell>> cells;
  };

  std::string name, help;
  bool histogram = false;
  std::vector<std::string> label_names;
  std::vector<double> bounds;
  size_t max_series = 0;
  std::array<Shard, kShards> shards;
  std::atomic<size_t> series{0};
  std::atomic<uint64_t> dropped{0};

  Family(std::string n, std::string h, std::vector<std::string> labels, size_t max, std::vector<double> b = {},
         bool hist = false)
      : name(std::move(n)), help(std::move(h)), histogram(hist), label_names(std::move(labels)), bounds(std::move(b)),
        max_series(max) {}

  // The cell of these label values, created when the family has room; nullptr (and a drop
  // counted) when it has none.
  Cell* Find(std::initializer_list<std::string_view> values) {
    thread_local std::string key;  // reused: a label set is often longer than a short string
    key.clear();
    for (std::string_view v : values) {
      key.append(v);
      key += kSep;
    }
    Shard& shard = shards[absl::HashOf(key) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.cells.find(key);
    if (it != shard.cells.end()) return it->second.get();
    if (series.fetch_add(1, std::memory_order_relaxed) >= max_series) {
      series.fetch_sub(1, std::memory_order_relaxed);
      dropped.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    auto cell = std::make_unique<Cell>();
    for (std::string_view v : values) cell->labels.emplace_back(v);
    if (histogram) {
      cell->buckets = std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1);
      for (size_t i = 0; i <= bounds.size(); ++i) cell->buckets[i].store(0, std::memory_order_relaxed);
    }
    Cell* raw = cell.get();
    shard.cells.emplace(key, std::move(cell));
    return raw;
  }

  void Add(std::initializer_list<std::string_view> values) {
    if (Cell* c = Find(values)) c->count.fetch_add(1, std::memory_order_relaxed);
  }
  void Observe(std::initializer_list<std::string_view> values, double seconds) {
    Cell* c = Find(values);
    if (c == nullptr) return;
    // A negative or NaN duration (a clock stepped back) counts as 0, an absurd one as 10^9 s:
    // the sum stays a representable number of nanoseconds.
    if (!(seconds >= 0)) seconds = 0;
    seconds = std::min(seconds, 1e9);
    size_t i = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
    c->buckets[i].fetch_add(1, std::memory_order_relaxed);
    c->sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
    c->count.fetch_add(1, std::memory_order_relaxed);
  }

  std::string Labels(const Cell& c, std::string_view extra_name = {}, std::string_view extra_value = {}) const {
    std::string out;
    for (size_t i = 0; i < label_names.size(); ++i) {
      out += out.empty() ? "{" : ",";
      absl::StrAppend(&out, label_names[i], "=\"");
      AppendLabelValue(out, c.labels[i]);
      out += '"';
    }
    if (!extra_name.empty()) {
      out += out.empty() ? "{" : ",";
      absl::StrAppend(&out, std::string(extra_name), "=\"", std::string(extra_value), "\"");
    }
    if (!out.empty()) out += '}';
    return out;
  }

  void Write(std::string& out) const {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, histogram ? " histogram\n" : " counter\n");
    std::vector<std::pair<std::string, const Cell*>> rows;
    for (const Shard& s : shards) {
      std::lock_guard lock(const_cast<std::mutex&>(s.mu));
      for (const auto& [k, c] : s.cells) rows.emplace_back(k, c.get());
    }
    std::sort(rows.begin(), rows.end());
    for (const auto& [key, c] : rows) {
      if (!histogram) {
        absl::StrAppend(&out, name, Labels(*c), " ", c->count.load(std::memory_order_relaxed), "\n");
        continue;
      }
      // Read the buckets first, and report as count their sum: a scrape during an Observe
      // still shows a consistent histogram.
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += c->buckets[i].load(std::memory_order_relaxed);
        absl::StrAppend(&out, name, "_bucket",
                        Labels(*c, "le", i < bounds.size() ? FormatDouble(bounds[i]) : std::string("+Inf")), " ",
                        cumulative, "\n");
      }
      absl::StrAppend(&out, name, "_sum", Labels(*c), " ",
                      FormatDouble(static_cast<double>(c->sum_ns.load(std::memory_order_relaxed)) / 1e9), "\n");
      absl::StrAppend(&out, name, "_count", Labels(*c), " ", cumulative, "\n");
    }
  }
};

Metrics::Metrics(MetricsOptions options) : options_(std::move(options)) {
  const size_t max = options_.max_series;
  std::sort(options_.turn_buckets.begin(), options_.turn_buckets.end());
  std::sort(options_.store_buckets.begin(), options_.store_buckets.end());
  turn_latency_ = std::make_unique<Family>("modelpin_turn_duration_seconds",
                                           "Time the engine took to handle a message, by turn kind.",
                                           std::vector<std::string>{"kind"}, max, options_.turn_buckets, true);
  routes_ = std::make_unique<Family>("modelpin_routes_total",
                                     "Messages routed to a model, by agent, provider and first profile.",
                                     std::vector<std::string>{"agent", "provider", "profile"}, max);
  outcomes_ = std::make_unique<Family>("modelpin_call_outcomes_total",
                                       "Model call outcomes reported, by agent, provider, profile and error class.",
                                       std::vector<std::string>{"agent", "provider", "profile", "error"}, max);
  fallbacks_ = std::make_unique<Family>("modelpin_fallbacks_total",
                                        "Messages sent to a fallback model, by the model they left, the one they "
                                        "used and why.",
                                        std::vector<std::string>{"from", "to", "reason"}, max);
  store_ops_ = std::make_unique<Family>("modelpin_store_operations_total", "Store operations, by store and operation.",
                                        std::vector<std::string>{"store", "op"}, max);
  store_errors_ = std::make_unique<Family>("modelpin_store_errors_total",
                                           "Store operations that failed, by store and operation.",
                                           std::vector<std::string>{"store", "op"}, max);
  store_latency_ = std::make_unique<Family>("modelpin_store_duration_seconds",
                                            "Time store operations took, by store and operation.",
                                            std::vector<std::string>{"store", "op"}, max, options_.store_buckets,
                                            true);
  failovers_ = std::make_unique<Family>("modelpin_store_failovers_total", "Shared store failovers, by store.",
                                        std::vector<std::string>{"store"}, max);
  events_ = std::make_unique<Family>("modelpin_events_total", "Engine events emitted, by kind.",
                                     std::vector<std::string>{"kind"}, max);
}

Metrics::~Metrics() = default;

void Metrics::RecordTurn(TurnKind kind, double seconds) {
  turns_[static_cast<int>(kind)].fetch_add(1, std::memory_order_relaxed);
  turn_latency_->Observe({TurnKindName(kind)}, seconds);
}

void Metrics::RecordRoute(std::string_view agent, std::string_view provider, std::string_view profile) {
  routes_->Add({agent, provider, profile});
}

void Metrics::RecordOutcome(std::string_view agent, std::string_view provider, std::string_view profile,
                            ErrorClass error) {
  outcomes_->Add({agent, provider, profile, ErrorClassName(error)});
}

void Metrics::RecordStoreOp(std::string_view store, std::string_view op, bool ok, double seconds) {
  store_ops_->Add({store, op});
  if (!ok) store_errors_->Add({store, op});
  store_latency_->Observe({store, op}, seconds);
}

std::string_view FallbackReasonLabel(std::string_view reason) {
  if (reason.find("cooling down or disabled") != std::string_view::npos) return "unavailable";
  return reason.empty() ? "" : "other";
}

void Metrics::OnEvent(const Event& event) {
  events_->Add({EventKindName(event.kind)});
  if (event.kind == EventKind::kFallbackUsed)
    fallbacks_->Add({event.Field("from"), event.Field("to"), FallbackReasonLabel(event.Field("reason"))});
  else if (event.kind == EventKind::kStoreFailedOver)
    failovers_->Add({event.Field("store")});
}

std::string Metrics::Expose(const std::vector<ProfileGauge>& profiles) const { return Expose(profiles, {}); }

std::string Metrics::Expose(const std::vector<ProfileGauge>& profiles,
                            const std::vector<ProfileUsageGauge>& usage) const {
  std::string out;
  out.reserve(4096);
  out += "# HELP modelpin_turns_total Messages the engine handled, by turn kind.\n# TYPE modelpin_turns_total counter\n";
  for (int i = 0; i < kTurnKinds; ++i)
    absl::StrAppend(&out, "modelpin_turns_total{kind=\"", std::string(kTurnNames[i]), "\"} ",
                    turns_[i].load(std::memory_order_relaxed), "\n");
  for (const Family* f : {turn_latency_.get(), routes_.get(), outcomes_.get(), fallbacks_.get(), store_ops_.get(),
                          store_errors_.get(), store_latency_.get(), failovers_.get(), events_.get()})
    f->Write(out);
  if (!profiles.empty()) {
    static constexpr std::string_view kStates[] = {"ok", "cooldown", "model_cooldown", "disabled", "expired",
                                                   "ineligible", "budget"};
    auto labels = [](const ProfileGauge& g) {
      std::string l = "{agent=\"";
      AppendLabelValue(l, g.agent);
      l += "\",provider=\"";
      AppendLabelValue(l, g.provider);
      l += "\",profile=\"";
      AppendLabelValue(l, g.profile);
      l += "\"";
      return l;
    };
    out += "# HELP modelpin_profile_state The state of each auth profile (1 for its current state).\n"
           "# TYPE modelpin_profile_state gauge\n";
    for (const ProfileGauge& g : profiles)
      for (std::string_view s : kStates)
        absl::StrAppend(&out, "modelpin_profile_state", labels(g), ",state=\"", std::string(s), "\"} ", g.state == s ? 1 : 0,
                        "\n");
    out += "# HELP modelpin_profile_seconds_until_usable Seconds until each auth profile can be used (0: now).\n"
           "# TYPE modelpin_profile_seconds_until_usable gauge\n";
    for (const ProfileGauge& g : profiles)
      absl::StrAppend(&out, "modelpin_profile_seconds_until_usable", labels(g), "} ",
                      FormatDouble(g.seconds_until_usable), "\n");
  }
  if (!usage.empty()) {
    // Usage per window, computed from the health at scrape time (docs/usage-and-budgets.md). A
    // window whose cost is unknown (a call with tokens for a model without a price) writes no
    // cost series: 0 would read as free; modelpin_profile_unpriced_calls counts those calls.
    std::vector<std::string> labels;  // per profile and window: {agent="",provider="",profile="",window=""
    labels.reserve(usage.size() * std::size(kUsageWindows));
    for (const ProfileUsageGauge& g : usage)
      for (UsageWindow w : kUsageWindows) {
        std::string& l = labels.emplace_back("{agent=\"");
        AppendLabelValue(l, g.agent);
        l += "\",provider=\"";
        AppendLabelValue(l, g.provider);
        l += "\",profile=\"";
        AppendLabelValue(l, g.profile);
        l.append("\",window=\"").append(UsageWindowName(w)).append("\"");
      }
    auto usage_family = [&](std::string_view name, std::string_view help, auto value) {
      out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" gauge\n");
      size_t i = 0;
      for (const ProfileUsageGauge& g : usage)
        for (size_t w = 0; w < std::size(kUsageWindows); ++w, ++i)
          value(g.usage[w], [&](std::string_view extra, std::string_view v) {
            out.append(name).append(labels[i]).append(extra).append("} ").append(v).append("\n");
          });
    };
    usage_family("modelpin_profile_calls", "Calls reported for each auth profile in the rolling window.",
                 [](const UsageCounts& c, auto put) { put("", absl::StrCat(c.calls)); });
    usage_family("modelpin_profile_failures", "Failed calls reported for each auth profile in the rolling window.",
                 [](const UsageCounts& c, auto put) { put("", absl::StrCat(c.failures)); });
    usage_family("modelpin_profile_tokens", "Tokens reported for each auth profile in the rolling window, by kind.",
                 [](const UsageCounts& c, auto put) {
                   put(",kind=\"input\"", absl::StrCat(c.tokens.input));
                   put(",kind=\"output\"", absl::StrCat(c.tokens.output));
                   put(",kind=\"cache_read\"", absl::StrCat(c.tokens.cache_read));
                   put(",kind=\"cache_write\"", absl::StrCat(c.tokens.cache_write));
                 });
    usage_family("modelpin_profile_cost_usd",
                 "Cost in USD of each auth profile's calls in the rolling window (absent when unknown).",
                 [](const UsageCounts& c, auto put) {
                   if (c.CostKnown()) put("", FormatDouble(c.cost_usd));
                 });
    usage_family("modelpin_profile_unpriced_calls",
                 "Calls with tokens for a model without a price in the rolling window (the cost is unknown).",
                 [](const UsageCounts& c, auto put) { put("", absl::StrCat(c.unpriced)); });
  }
  out += "# HELP modelpin_metrics_series_dropped_total Recordings dropped because their family reached its bound "
         "on label sets.\n# TYPE modelpin_metrics_series_dropped_total counter\n";
  for (const Family* f : {turn_latency_.get(), routes_.get(), outcomes_.get(), fallbacks_.get(), store_ops_.get(),
                          store_errors_.get(), store_latency_.get(), failovers_.get(), events_.get()})
    absl::StrAppend(&out, "modelpin_metrics_series_dropped_total{family=\"", f->name, "\"} ",
                    f->dropped.load(std::memory_order_relaxed), "\n");
  return out;
}

namespace {

// Calls `each(agent, store, credential, now)` for every profile of every configured agent and of
// "main" (listed first when it is not configured), from the engine's cached auth stores; an agent
// whose store cannot be read is passed over. The gauges of health and of usage list the same rows.
template <typename Each>
void ForEachProfile(Engine& engine, Each each) {
  std::vector<std::string> agents = engine.config().AgentIds();
  const std::string main = engine.ResolveAgent("");
  if (std::find(agents.begin(), agents.end(), main) == agents.end()) agents.insert(agents.begin(), main);
  const int64_t now = engine.NowMs();
  for (const std::string& agent : agents) {
    auto store = engine.Auth(agent);
    if (!store.ok()) continue;
    for (const Credential& c : (*store)->profiles()) each(agent, **store, c, now);
  }
}

}  // namespace

std::vector<ProfileGauge> ProfileGauges(Engine& engine) {
  std::vector<ProfileGauge> out;
  ForEachProfile(engine, [&](const std::string& agent, const AuthStore& store, const Credential& c, int64_t now) {
    ProfileHealth h = DescribeHealth(store.Usage(c.id), "", now);
    std::string state = absl::StrReplaceAll(std::string(h.StateName()), {{" ", "_"}});
    double wait = h.state == ProfileHealth::State::kOk || h.until <= now ? 0 : (h.until - now) / 1000.0;
    out.push_back({agent, AuthProvider(c.provider), c.id, std::move(state), wait});
  });
  return out;
}

std::vector<ProfileUsageGauge> ProfileUsageGauges(Engine& engine) {
  std::vector<ProfileUsageGauge> out;
  ForEachProfile(engine, [&](const std::string& agent, const AuthStore& store, const Credential& c, int64_t now) {
    ProfileUsageGauge g{agent, AuthProvider(c.provider), c.id};
    const UsageLedger& ledger = store.UsageRef(c.id).usage;
    for (size_t w = 0; w < std::size(kUsageWindows); ++w) g.usage[w] = InWindow(ledger, kUsageWindows[w], now);
    out.push_back(std::move(g));
  });
  return out;
}

}  // namespace modelpin
