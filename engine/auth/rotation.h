// Credential rotation rules: what a model call's outcome does to its auth profile's health, and
// how a profile's health reads. Pure: no I/O, time is a parameter. The defaults are OpenClaw's
// (its failover documentation, and what OpenClaw 2026.9.6 stored when driven into 429, 401 and
// 402 answers: fixtures/rotation-oracle): cooldowns of 30 s, 1 min, then 5 min, for a 401 too;
// error counters restart after a 24 h failure window; billing failures disable a profile, 10 min
// at first; overloads and server errors leave the profile's health as it was.
// Config `modelpin.rotation` changes them per error class and picks a strategy per provider.
//
//   UsageStats u = store.Usage("anthropic:work");
//   ApplyReport({.profile_id = "anthropic:work", .error = ErrorClass::kRateLimit}, policy, now, u);
//   u.cooldown_until;  // now + 30 s
//   DescribeHealth(u, "", now).Text();  // "cooldown until 2026-12-01T10:00:30Z, 1 error"
#ifndef MODELPIN_ENGINE_AUTH_ROTATION_H_
#define MODELPIN_ENGINE_AUTH_ROTATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "engine/auth/auth_store.h"

namespace modelpin {

// What a bot knows about a failed (or successful) model call.
enum class ErrorClass { kOk, kRateLimit, kOverloaded, kAuth, kBilling, kTimeout, kServerError, kModelNotFound };

// "ok", "rate_limit", "overloaded", "auth", "billing", "timeout", "server_error", "model_not_found".
std::string_view ErrorClassName(ErrorClass c);
std::optional<ErrorClass> ParseErrorClass(std::string_view name);

// The outcome of one model call, as Engine::ReportOutcome takes it.
struct CallReport {
  std::string profile_id;
  ErrorClass error = ErrorClass::kOk;
  int64_t retry_after_ms = 0;  // the provider's Retry-After, 0 when it sent none
  // "provider/model" when the failure concerns one model of the profile (OpenClaw cools down
  // such a model only for a rate limit or an unknown model, the profile stays usable for
  // others); "" for the whole profile.
  std::string model;
  // What the provider said of the profile's quota on this answer (its rate-limit headers), kept
  // as the profile's latest (UsageStats::limits); nullopt when it said nothing.
  std::optional<ProviderLimits> limits{};
  // The call was a probe of a disabled profile (docs/probing.md): success re-enables it as any
  // success does; a failure keeps it out as it was and backs the next probe off.
  bool probe = false;
};

// How profiles of one provider are ordered when no explicit order applies.
enum class Strategy {
  kRoundRobin,  // OpenClaw's: least recently used first
  kFillFirst,   // the base order, always from the top; a recovered profile is promoted back
  kLeastUsed,   // fewest successful calls first
  kRandom,      // a seeded shuffle (reproducible): seed, profile id and the provider's use count
  kQuotaAware,  // stays on a profile while its reported quota is above the threshold, then the most left
};
std::string_view StrategyName(Strategy s);
std::optional<Strategy> ParseStrategy(std::string_view name);

// What a 401/403 does to the profile ("auth" in `modelpin.rotation`).
enum class AuthFailurePolicy {
  kCooldown,      // "cooldown": OpenClaw's for a 401 (reason "auth"): the transient cooldown, 30 s, 1 min, 5 min
  kDisable,       // "disable": disabled for 10 min, doubling per auth failure, at most 24 h
  kUntilChanged,  // "until_changed": disabled until paste-token/paste-api-key replaces the secret
};

// Config `modelpin.rotation`. Every default is OpenClaw's behaviour.
struct RotationPolicy {
  AuthFailurePolicy auth = AuthFailurePolicy::kCooldown;
  int64_t billing_disable_ms = 0;   // "billing": "5h": a fixed disable; 0 = 10 min, doubling
  bool rate_limit_retry_after = false;  // "rate_limit": "retry_after": the cooldown is the retry-after given
  bool timeout_retry_once = false;  // "timeout": "retry_once": the first timeout leaves the profile first
  std::map<std::string, Strategy, std::less<>> strategy;  // by auth provider; "*" for every other
  uint64_t seed = 0;                // for Strategy::kRandom
  // "quotaThreshold": for Strategy::kQuotaAware, the share of a quota window below which a
  // profile is left for one with more (0.2: under 20 % of its requests or tokens).
  double quota_threshold = 0.2;

  Strategy StrategyFor(std::string_view auth_provider) const;
};

// Config `modelpin.probe` (docs/probing.md): re-testing profiles disabled for auth, billing or
// budget reasons with the cheapest request, so a fixed key comes back by itself.
struct ProbePolicy {
  bool enabled = false;            // "enabled": `modelpin serve` runs due probes itself
  int64_t interval_ms = 600'000;   // "intervalMs": the wait after the disable or the last probe
  int64_t max_interval_ms = 6 * 3'600'000LL;  // the backoff's cap
  int64_t timeout_ms = 10'000;     // "timeoutMs": per probe request
  int max_tokens = 1;              // "maxTokens": what a probe may ask the model for
};

// Whether a profile is waiting for a probe at `now`: disabled for "auth", "billing" or "budget",
// and its wait passed: the interval after max(the failure, the last probe), doubled for each
// probe in a row that failed (at most max_interval_ms). `*due_at` gets when it is (or was) due.
bool ProbeDue(const UsageStats& u, const ProbePolicy& policy, int64_t now_ms, int64_t* due_at = nullptr);
// Whether `u` is disabled for a reason probing can clear (see ProbeDue).
bool Probeable(const UsageStats& u, int64_t now_ms);

inline constexpr int64_t kFailureWindowMs = 24 * 3'600'000LL;
// disabledUntil of a profile disabled until its credential changes (9999-12-31T23:59:59Z).
inline constexpr int64_t kUntilCredentialChanges = 253402300799000LL;

// Applies one call's outcome to the profile's stats. Success: lastUsed, use count, errors and
// cooldowns cleared (the model's own cooldown too). Failure: counters (restarted after the
// failure window), then a cooldown by the total error count (30 s, 1 min, 5 min), or a disable
// for billing (and auth under "disable") by its own count (10 min, doubling, at most 24 h).
// Overloaded and server errors change nothing (OpenClaw keeps them to the run).
void ApplyReport(const CallReport& report, const RotationPolicy& policy, int64_t now_ms, UsageStats& u);

// Whether the profile cannot be used now for `model` ("" = the profile as a whole), and until when.
bool IsCoolingDown(const UsageStats& u, std::string_view model, int64_t now_ms);
int64_t CoolingUntil(const UsageStats& u, std::string_view model, int64_t now_ms);

// A profile's state for people: replay output, `models auth list`, `models auth cooldowns`.
struct ProfileHealth {
  enum class State { kOk, kCooldown, kModelCooldown, kDisabled, kExpired, kIneligible };
  State state = State::kOk;
  int64_t until = 0;     // end of the cooldown or disable
  std::string reason;    // disabledReason, the ineligibility, or the model cooling down
  int errors = 0;
  std::string quota;     // the provider's reported quota, "requests 12/100, tokens 5000/80000"; "" when none
  int failed_probes = 0;  // while disabled: probes in a row that failed (docs/probing.md)

  std::string_view StateName() const;  // "ok", "cooldown", "model cooldown", "disabled", "expired", "ineligible"
  // "ok", "cooldown until 2026-12-01T10:00:30Z, 1 error", "disabled (billing) until ...",
  // "anthropic/claude-opus-4-5 cooling down until ...", "expired".
  std::string Text() const;
};
ProfileHealth DescribeHealth(const UsageStats& u, std::string_view model, int64_t now_ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_ROTATION_H_
