// Config `modelpin.rotation`, as the config reads it: what each error class does to a profile and
// which strategy orders each provider's profiles. What the rules do to a profile's health is
// engine/auth/rotation.h; docs/configuration.md describes the keys.
#ifndef MODELPIN_ENGINE_CONFIG_ROTATION_POLICY_H_
#define MODELPIN_ENGINE_CONFIG_ROTATION_POLICY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace modelpin {

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

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_ROTATION_POLICY_H_
