#include <modelpin/engine/auth/rotation.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 8> kClassNames = {"ok",      "rate_limit",   "overloaded",     "auth",
                                                         "billing", "timeout", "server_error", "model_not_found"};

// Cooldown after the n-th failure in the window: 30 s, 1 min, then 5 min (the cap).
int64_t CooldownMs(int n) { return n <= 1 ? 30'000 : n == 2 ? 60'000 : 300'000; }

// Disable after the n-th auth or billing failure: 10 min, doubling, at most 24 h.
int64_t DisableMs(int n) {
  int64_t ms = 600'000;
  for (int i = 1; i < n && ms < kFailureWindowMs; ++i) ms *= 2;
  return std::min(ms, kFailureWindowMs);
}

}  // namespace

std::string_view ErrorClassName(ErrorClass c) { return kClassNames[static_cast<size_t>(c)]; }

std::optional<ErrorClass> ParseErrorClass(std::string_view name) {
  for (size_t i = 0; i < kClassNames.size(); ++i)
    if (kClassNames[i] == name) return static_cast<ErrorClass>(i);
  return std::nullopt;
}

bool Probeable(const UsageStats& u, int64_t now) {
  return u.disabled_until > now &&
         (u.disabled_reason == "auth" || u.disabled_reason == "billing" || u.disabled_reason == "budget");
}

bool ProbeDue(const UsageStats& u, const ProbePolicy& p, int64_t now, int64_t* due_at) {
  if (!Probeable(u, now)) return false;
  int64_t wait = std::max<int64_t>(p.interval_ms, 1);
  for (int i = 0; i < u.probe_failures && wait < p.max_interval_ms; ++i) wait *= 2;
  wait = std::min(wait, std::max(p.max_interval_ms, p.interval_ms));
  int64_t at = std::max(u.last_failure_at, u.last_probe_at) + wait;
  if (due_at) *due_at = at;
  return now >= at;
}

void ApplyReport(const CallReport& r, const RotationPolicy& p, int64_t now, UsageStats& u) {
  // The provider's latest word on the quota is kept whatever the answer was (a 429 carries it too).
  if (r.limits && !r.limits->empty()) {
    u.limits = r.limits;
    if (!u.limits->reported_at) u.limits->reported_at = now;
  }
  if (r.probe) {
    u.last_probe_at = now;
    // A failing probe keeps the profile out as it was: no new counters, no longer disable; the
    // next probe waits longer.
    if (r.error != ErrorClass::kOk) {
      u.probe_failures += 1;
      return;
    }
  }
  if (r.error == ErrorClass::kOk) {
    u.probe_failures = 0;
    // A probe is no use of the profile: round robin and least_used do not count it.
    if (!r.probe) {
      u.last_used = now;
      u.use_count += 1;
    }
    u.error_count = 0;
    u.failure_counts.clear();
    u.cooldown_until = 0;
    u.disabled_until = 0;
    u.disabled_reason.clear();
    if (!r.model.empty()) u.model_cooldowns.erase(r.model);
    return;
  }
  // OpenClaw keeps provider overloads (529) and server errors (5xx) to the run that saw them:
  // it retries and rotates, but the profile's stored health does not change (checked:
  // fixtures/rotation-oracle/overloaded-529 and server-error-500).
  if (r.error == ErrorClass::kOverloaded || r.error == ErrorClass::kServerError) return;
  // Counters restart once the last failure is older than the failure window.
  if (u.last_failure_at && now - u.last_failure_at >= kFailureWindowMs) {
    u.error_count = 0;
    u.failure_counts.clear();
  }
  // Expired model cooldowns are dropped as the stats are rewritten anyway.
  std::erase_if(u.model_cooldowns, [&](const auto& kv) { return kv.second <= now; });
  std::string name(ErrorClassName(r.error));
  int& of_class = u.failure_counts[name];
  of_class += 1;
  u.error_count += 1;
  u.last_failure_at = now;
  switch (r.error) {
    case ErrorClass::kAuth:
      // OpenClaw classifies a plain 401 as "auth": a cooldown like a rate limit's (checked:
      // fixtures/rotation-oracle/auth-401). Its disable is for "auth_permanent" (revoked keys).
      if (p.auth == AuthFailurePolicy::kCooldown) break;
      [[fallthrough]];
    case ErrorClass::kBilling: {
      int64_t until;
      if (r.error == ErrorClass::kAuth && p.auth == AuthFailurePolicy::kUntilChanged) until = kUntilCredentialChanges;
      else if (r.error == ErrorClass::kBilling && p.billing_disable_ms > 0) until = now + p.billing_disable_ms;
      else until = now + DisableMs(of_class);
      if (until >= u.disabled_until) {
        u.disabled_until = until;
        u.disabled_reason = name;
      }
      return;
    }
    case ErrorClass::kTimeout:
      // retry_once: the first timeout in a row leaves the profile first, for one more try.
      if (p.timeout_retry_once && of_class == 1) return;
      break;
    default:
      break;
  }
  int64_t ms = CooldownMs(u.error_count);
  if (r.error == ErrorClass::kRateLimit && p.rate_limit_retry_after && r.retry_after_ms > 0) ms = r.retry_after_ms;
  bool model_scoped =
      !r.model.empty() && (r.error == ErrorClass::kRateLimit || r.error == ErrorClass::kModelNotFound);
  int64_t& until = model_scoped ? u.model_cooldowns[r.model] : u.cooldown_until;
  until = std::max(until, now + ms);
}

bool IsCoolingDown(const UsageStats& u, std::string_view model, int64_t now) {
  return CoolingUntil(u, model, now) > now;
}

int64_t CoolingUntil(const UsageStats& u, std::string_view model, int64_t now) {
  int64_t until = 0;
  if (u.cooldown_until > now) until = u.cooldown_until;
  if (u.disabled_until > now) until = std::max(until, u.disabled_until);
  if (u.budget_until > now) until = std::max(until, u.budget_until);
  if (!model.empty() && !u.model_cooldowns.empty())
    if (auto it = u.model_cooldowns.find(model); it != u.model_cooldowns.end() && it->second > now)
      until = std::max(until, it->second);
  return until;
}

ProfileHealth DescribeHealth(const UsageStats& u, std::string_view model, int64_t now) {
  ProfileHealth h;
  h.errors = u.error_count;
  if (u.limits) h.quota = u.limits->Text(now);
  if (u.disabled_until > now) {
    h.state = ProfileHealth::State::kDisabled;
    h.until = u.disabled_until;
    h.reason = u.disabled_reason;
    h.failed_probes = u.probe_failures;
  } else if (u.cooldown_until > now) {
    h.state = ProfileHealth::State::kCooldown;
    h.until = u.cooldown_until;
  } else if (u.budget_until > now) {
    h.state = ProfileHealth::State::kOverBudget;
    h.until = u.budget_until;
    h.reason = u.budget_reason;
  } else {
    // The model asked for, else the longest running model cooldown.
    for (const auto& [m, until] : u.model_cooldowns) {
      if (until <= now || (!model.empty() && m != model)) continue;
      if (h.state != ProfileHealth::State::kModelCooldown || until > h.until) {
        h.state = ProfileHealth::State::kModelCooldown;
        h.until = until;
        h.reason = m;
      }
    }
  }
  return h;
}

std::string_view ProfileHealth::StateName() const {
  switch (state) {
    case State::kOk: return "ok";
    case State::kCooldown: return "cooldown";
    case State::kModelCooldown: return "model cooldown";
    case State::kDisabled: return "disabled";
    case State::kExpired: return "expired";
    case State::kIneligible: return "ineligible";
    case State::kOverBudget: return "budget";
  }
  return "ok";
}

std::string ProfileHealth::Text() const {
  std::string out;
  switch (state) {
    case State::kOk: out = "ok"; break;
    case State::kCooldown: out = absl::StrCat("cooldown until ", FormatUtc(until)); break;
    case State::kModelCooldown: out = absl::StrCat(reason, " cooling down until ", FormatUtc(until)); break;
    case State::kDisabled:
      out = absl::StrCat("disabled", reason.empty() ? "" : absl::StrCat(" (", reason, ")"), " until ",
                         until >= kUntilCredentialChanges ? "its credential changes" : FormatUtc(until));
      break;
    case State::kExpired: out = "expired"; break;
    case State::kIneligible: out = absl::StrCat("not used: ", reason); break;
    case State::kOverBudget:
      out = absl::StrCat("over budget", reason.empty() ? "" : absl::StrCat(" (", reason, ")"), " until ", FormatUtc(until));
      break;
  }
  if (errors > 0) absl::StrAppend(&out, ", ", errors, errors == 1 ? " error" : " errors");
  if (failed_probes > 0) absl::StrAppend(&out, ", ", failed_probes, failed_probes == 1 ? " failed probe" : " failed probes");
  if (!quota.empty()) absl::StrAppend(&out, ", left: ", quota);
  return out;
}

}  // namespace modelpin
