#include "engine/rotation.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 8> kClassNames = {"ok",      "rate_limit",   "overloaded",     "auth",
                                                         "billing", "timeout", "server_error", "model_not_found"};
constexpr std::array<std::string_view, 4> kStrategyNames = {"round_robin", "fill_first", "least_used", "random"};

// Cooldown after the n-th failure in the window: 30 s, 1 min, then 5 min (the cap).
int64_t CooldownMs(int n) { return n <= 1 ? 30'000 : n == 2 ? 60'000 : 300'000; }

// Disable after the n-th auth or billing failure: 10 min, doubling, at most 24 h.
int64_t DisableMs(int n) {
  int64_t ms = 600'000;
  for (int i = 1; i < n && ms < kFailureWindowMs; ++i) ms *= 2;
  return std::min(ms, kFailureWindowMs);
}

// Howard Hinnant's days_from_civil / civil_from_days (public-domain algorithms).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

}  // namespace

std::string FormatUtc(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t rem_ms = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                        static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                        static_cast<long long>(sod % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (rem_ms) {
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(rem_ms));
    out += buf;
  }
  return out + "Z";
}

std::optional<int64_t> ParseUtc(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  auto num = [&](size_t at, size_t len) -> std::optional<int64_t> {
    if (at + len > t.size()) return std::nullopt;
    int64_t n = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
      n = n * 10 + (t[i] - '0');
    }
    return n;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  size_t at = 19;
  int64_t frac = 0;
  if (at < t.size() && t[at] == '.') {
    int digits = 0;
    for (++at; at < t.size() && std::isdigit(static_cast<unsigned char>(t[at])); ++at, ++digits)
      if (digits < 3) frac = frac * 10 + (t[at] - '0');
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) frac *= 10;
  }
  if (at + 1 != t.size() || (t[at] != 'Z' && t[at] != 'z')) return std::nullopt;
  int64_t days = DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return ((days * 24 + *h) * 60 + *mi) * 60'000 + *s * 1000 + frac;
}

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  int64_t unit;
  size_t digits = s.size();
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    unit = 1;
    digits -= 2;
  } else if (s.size() >= 2) {
    switch (s.back()) {
      case 's': unit = 1'000; break;
      case 'm': unit = 60'000; break;
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      case 'w': unit = 7 * 86'400'000LL; break;
      default: return std::nullopt;
    }
    digits -= 1;
  } else {
    return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    n = n * 10 + (s[i] - '0');
    if (n > 1'000'000'000) return std::nullopt;
  }
  if (n <= 0) return std::nullopt;
  return n * unit;
}

std::string_view ErrorClassName(ErrorClass c) { return kClassNames[static_cast<size_t>(c)]; }

std::optional<ErrorClass> ParseErrorClass(std::string_view name) {
  for (size_t i = 0; i < kClassNames.size(); ++i)
    if (kClassNames[i] == name) return static_cast<ErrorClass>(i);
  return std::nullopt;
}

std::string_view StrategyName(Strategy s) { return kStrategyNames[static_cast<size_t>(s)]; }

std::optional<Strategy> ParseStrategy(std::string_view name) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i)
    if (kStrategyNames[i] == name) return static_cast<Strategy>(i);
  return std::nullopt;
}

Strategy RotationPolicy::StrategyFor(std::string_view auth_provider) const {
  if (strategy.empty()) return Strategy::kRoundRobin;
  if (auto it = strategy.find(auth_provider); it != strategy.end()) return it->second;
  if (auto it = strategy.find("*"); it != strategy.end()) return it->second;
  return Strategy::kRoundRobin;
}

void ApplyReport(const CallReport& r, const RotationPolicy& p, int64_t now, UsageStats& u) {
  if (r.error == ErrorClass::kOk) {
    u.last_used = now;
    u.use_count += 1;
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
  if (!model.empty() && !u.model_cooldowns.empty())
    if (auto it = u.model_cooldowns.find(model); it != u.model_cooldowns.end() && it->second > now)
      until = std::max(until, it->second);
  return until;
}

ProfileHealth DescribeHealth(const UsageStats& u, std::string_view model, int64_t now) {
  ProfileHealth h;
  h.errors = u.error_count;
  if (u.disabled_until > now) {
    h.state = ProfileHealth::State::kDisabled;
    h.until = u.disabled_until;
    h.reason = u.disabled_reason;
  } else if (u.cooldown_until > now) {
    h.state = ProfileHealth::State::kCooldown;
    h.until = u.cooldown_until;
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
  }
  if (errors > 0) absl::StrAppend(&out, ", ", errors, errors == 1 ? " error" : " errors");
  return out;
}

}  // namespace modelpin
