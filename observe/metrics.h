// The service's `GET /metrics`: counters and histograms in the Prometheus text format (0.0.4),
// written by hand (docs/events.md lists every metric). Recording is cheap: unlabelled series
// are plain atomics, labelled ones live in sharded tables (a short lock on one of 16 shards to
// find the cell, then atomics). Each labelled family holds at most `max_series` label sets;
// what would add more is counted in modelpin_metrics_series_dropped_total{family} instead.
//
//   auto metrics = std::make_shared<modelpin::Metrics>();
//   setup.events = metrics;                     // fallbacks, cooldowns, failovers come as events
//   metrics->RecordTurn(modelpin::TurnKind::kText, 0.000004);
//   metrics->RecordOutcome("main", "anthropic", "anthropic:work", modelpin::ErrorClass::kRateLimit);
//   std::string body = metrics->Expose(modelpin::ProfileGauges(*engine),     // text/plain; version=0.0.4
//                                      modelpin::ProfileUsageGauges(*engine));
#ifndef MODELPIN_OBSERVE_METRICS_H_
#define MODELPIN_OBSERVE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/engine/events/events.h>

namespace modelpin {

// What a turn was: text routed to a model, a command or directives answered by replies only,
// a message that got neither (addressed to another bot), or an error (a store failure).
enum class TurnKind { kText, kCommand, kIgnored, kError };
inline constexpr int kTurnKinds = 4;
std::string_view TurnKindName(TurnKind kind);  // "text", "command", "ignored", "error"
// The kind of a handled turn.
TurnKind KindOf(const Outcome& outcome);

// One profile's health at scrape time (ProfileGauges).
struct ProfileGauge {
  std::string agent, provider, profile;
  std::string state;            // ProfileHealth::StateName with "_": "ok", "cooldown", "model_cooldown", "disabled", ...
  double seconds_until_usable;  // 0 when usable now
};
// The health of every profile of every configured agent (and "main"), from the engine's cached
// auth stores: modelpin_profile_state and modelpin_profile_seconds_until_usable.
std::vector<ProfileGauge> ProfileGauges(Engine& engine);

// One profile's usage at scrape time (ProfileUsageGauges), in each window of kUsageWindows
// (5h, 1d, 7d, 30d): docs/usage-and-budgets.md. A type of its own so that ProfileGauge, which
// embedders build, keeps its layout (docs/embedding.md, "API and ABI policy").
struct ProfileUsageGauge {
  std::string agent, provider, profile;
  std::array<UsageCounts, std::size(kUsageWindows)> usage{};
};
// The usage of the same profiles as ProfileGauges: the gauges
// modelpin_profile_{calls,failures,tokens,cost_usd,unpriced_calls}{window}.
std::vector<ProfileUsageGauge> ProfileUsageGauges(Engine& engine);

struct MetricsOptions {
  size_t max_series = 1000;  // label sets per labelled family
  // Upper bounds (seconds) of the latency histograms' buckets, ascending; +Inf is added.
  std::vector<double> turn_buckets = {0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                      0.001,    0.0025,  0.005,    0.01,    0.025,  0.1,    1};
  std::vector<double> store_buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1};
};

class Metrics : public EventSink {
 public:
  explicit Metrics(MetricsOptions options = {});
  ~Metrics() override;

  // modelpin_turns_total{kind}, modelpin_turn_duration_seconds (histogram).
  void RecordTurn(TurnKind kind, double seconds);
  // modelpin_routes_total{agent,provider,profile}: a routed message's first profile.
  void RecordRoute(std::string_view agent, std::string_view provider, std::string_view profile);
  // modelpin_call_outcomes_total{agent,provider,profile,error}: a model call's reported outcome.
  void RecordOutcome(std::string_view agent, std::string_view provider, std::string_view profile, ErrorClass error);
  // modelpin_store_operations_total{store,op}, modelpin_store_errors_total{store,op},
  // modelpin_store_duration_seconds{store,op} (histogram). `store`: "sqlite", "redis", ...
  void RecordStoreOp(std::string_view store, std::string_view op, bool ok, double seconds);
  // Events: modelpin_events_total{kind}; fallback_used also counts
  // modelpin_fallbacks_total{from,to,reason}, store_failed_over modelpin_store_failovers_total{store}.
  void OnEvent(const Event& event) override;
  // The stores' reports (EventSink::OnStoreOp): RecordStoreOp.
  void OnStoreOp(std::string_view store, std::string_view op, bool ok, double seconds) override {
    RecordStoreOp(store, op, ok, seconds);
  }

  // The whole exposition, with the profile gauges given (ProfileGauges(engine); empty: none).
  std::string Expose(const std::vector<ProfileGauge>& profiles = {}) const;
  // The same with the profiles' usage gauges (ProfileUsageGauges(engine)).
  std::string Expose(const std::vector<ProfileGauge>& profiles, const std::vector<ProfileUsageGauge>& usage) const;

  struct Family;  // metrics.cc

 private:
  MetricsOptions options_;
  std::array<std::atomic<uint64_t>, kTurnKinds> turns_{};
  std::unique_ptr<Family> turn_latency_, routes_, outcomes_, fallbacks_, store_ops_, store_errors_, store_latency_,
      failovers_, events_;
};

// The Prometheus reason label of a fallback: the reason text cut to its kind ("cooling down or
// disabled" -> "unavailable"): free text would make every message a new series.
std::string_view FallbackReasonLabel(std::string_view reason);

}  // namespace modelpin

#endif  // MODELPIN_OBSERVE_METRICS_H_
