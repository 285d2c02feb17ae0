// Credential rotation rules: what a model call's outcome does to its auth profile's health, and
// how a profile's health reads. Pure: no I/O, time is a parameter. The defaults are OpenClaw's
// (its failover documentation, and what OpenClaw 2026.9.6 stored when driven into 429, 401 and
// 402 answers: fixtures/rotation-oracle): cooldowns of 30 s, 1 min, then 5 min, for a 401 too;
// error counters restart after a 24 h failure window; billing failures disable a profile, 10 min
// at first; overloads and server errors leave the profile's health as it was.
// Config `modelpin.rotation` changes them per error class and picks a strategy per provider
// (engine/config/rotation_policy.h).
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

#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/config/rotation_policy.h>

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
  // The tokens the call used, when the provider reported them (docs/usage-and-budgets.md).
  std::optional<TokenUsage> usage{};
  // The model called ("provider/model"), whose catalog price gives the call's cost; "" = `model`.
  std::string billed_model{};
  // What the provider said of the profile's quota on this answer (its rate-limit headers), kept
  // as the profile's latest (UsageStats::limits); nullopt when it said nothing.
  std::optional<ProviderLimits> limits{};
  // The call was a probe of a disabled profile (docs/probing.md): success re-enables it as any
  // success does; a failure keeps it out as it was and backs the next probe off.
  bool probe = false;
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
  enum class State { kOk, kCooldown, kModelCooldown, kDisabled, kExpired, kIneligible, kOverBudget };
  State state = State::kOk;
  int64_t until = 0;     // end of the cooldown or disable
  std::string reason;    // disabledReason, the ineligibility, or the model cooling down
  int errors = 0;
  std::string quota;     // the provider's reported quota, "requests 12/100, tokens 5000/80000"; "" when none
  int failed_probes = 0;  // while disabled: probes in a row that failed (docs/probing.md)

  // "ok", "cooldown", "model cooldown", "disabled", "expired", "ineligible", "budget"
  std::string_view StateName() const;
  // "ok", "cooldown until 2026-12-01T10:00:30Z, 1 error", "disabled (billing) until ...",
  // "anthropic/claude-opus-4-5 cooling down until ...", "expired",
  // "over budget (usd 5 per 1d for profile anthropic:work) until ...".
  std::string Text() const;
};
ProfileHealth DescribeHealth(const UsageStats& u, std::string_view model, int64_t now_ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_ROTATION_H_
