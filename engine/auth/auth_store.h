// The per-agent credential store, `<state>/agents/<id>/agent/auth-profiles.json`:
//
//   {"version": 1,
//    "profiles": {"anthropic:work": {"type": "token", "provider": "anthropic", "token": "...",
//                                    "expires": 1767225600000}},
//    "order": {"anthropic": ["anthropic:work"]},        // per-agent order override
//    "lastGood": {"anthropic": "anthropic:work"},
//    "usageStats": {"anthropic:work": {"lastUsed": 0, "cooldownUntil": 0, "errorCount": 0}}}
//
// Times are ms since the epoch. Keys modelpin does not know are kept on save. Saving writes a
// temp file, fsyncs and renames it (mode 0600); Update() holds an advisory lock across the
// read-modify-write so two processes never lose each other's changes.
#ifndef MODELPIN_ENGINE_AUTH_AUTH_STORE_H_
#define MODELPIN_ENGINE_AUTH_AUTH_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/config/usage.h>
#include "rapidjson/document.h"

namespace modelpin {

struct Credential {
  std::string id;
  std::string type;      // "api_key" | "token" | "oauth" (other strings are kept as is)
  std::string provider;
  std::string secret;    // key, token or OAuth access token; "" when absent
  bool has_secret_ref = false;  // keyRef / tokenRef instead of an inline secret
  std::string refresh;
  std::optional<int64_t> expires;
  std::string email;
};

// One quota window as the provider last reported it (its rate-limit headers): -1 = not sent.
struct QuotaWindow {
  int64_t limit = -1;
  int64_t remaining = -1;
  int64_t reset_at = 0;  // when the window refills, ms since the epoch; 0 = not sent
  bool known() const { return limit > 0 && remaining >= 0; }
  bool operator==(const QuotaWindow&) const = default;
};

// What a provider said about a profile's quota on its latest answer (docs/rotation.md#quota_aware):
// `usageStats.<id>.limits`, {"requests": {"limit", "remaining", "resetAt"}, "tokens": ...,
// "inputTokens": ..., "outputTokens": ..., "at": ms}.
struct ProviderLimits {
  QuotaWindow requests, tokens, input_tokens, output_tokens;
  int64_t reported_at = 0;  // when the answer came (the engine's clock)
  bool empty() const { return !requests.known() && !tokens.known() && !input_tokens.known() && !output_tokens.known(); }
  // The smallest share left, 0..1, over the windows with a limit; a window whose reset time has
  // passed counts as full again. nullopt when no window has a limit.
  std::optional<double> LeftFraction(int64_t now_ms) const;
  // "requests 12/100, tokens 5000/80000" (full windows after their reset show their limit).
  std::string Text(int64_t now_ms) const;
  bool operator==(const ProviderLimits&) const = default;
};

// The health of one profile, `usageStats.<id>` in the store (OpenClaw's names where it has them).
// Every piece of per-profile health lives here; the rules that change it are engine/auth/rotation.h.
struct UsageStats {
  int64_t last_used = 0;        // lastUsed: last successful call
  int64_t cooldown_until = 0;   // cooldownUntil
  int64_t disabled_until = 0;   // disabledUntil
  int error_count = 0;          // errorCount: failures in the current failure window
  std::string disabled_reason;  // disabledReason: "auth" | "billing" | ""
  std::map<std::string, int, std::less<>> failure_counts;  // failureCounts: by error class
  int64_t last_failure_at = 0;  // lastFailureAt
  // modelCooldowns (modelpin's): "provider/model" -> until, for failures of one model only.
  std::map<std::string, int64_t, std::less<>> model_cooldowns;
  int64_t use_count = 0;        // useCount (modelpin's): successful calls, for least_used
  // usage (modelpin's): calls, tokens and cost in rolling windows (engine/config/usage.h).
  UsageLedger usage;
  // Not stored: set when the agent's health is read with budgets configured, the instant the
  // budget that stops this profile frees it (0 = none stops it) and which budget that is.
  int64_t budget_until = 0;
  std::string budget_reason;
  // limits (modelpin's): the provider's quota on the latest answer that reported one.
  std::optional<ProviderLimits> limits;
  // lastProbeAt, probeFailures (modelpin's): the last probe of a disabled profile, and how many
  // probes in a row failed (the next waits longer); docs/probing.md.
  int64_t last_probe_at = 0;
  int probe_failures = 0;

  bool operator==(const UsageStats&) const = default;
};

// One profile's health as the JSON object stored under `usageStats.<id>` (in the file, and as is
// in a shared store): the one place its fields are named and typed, so a field added to
// UsageStats travels through every store. ParseUsageStats errors name `path` (e.g.
// "$.usageStats.anthropic:work.errorCount: expected a number").
absl::StatusOr<UsageStats> ParseUsageStats(const rapidjson::Value& v, std::string_view path);
rapidjson::Value UsageStatsJson(const UsageStats& u, rapidjson::Document::AllocatorType& alloc);

// The health of an agent's profiles: usage and cooldowns by profile id, lastGood by provider.
// Kept apart from credentials and the stored order (see auth_health.h), so it can be shared
// between processes without the secrets.
struct AuthHealth {
  std::map<std::string, UsageStats> usage;
  std::map<std::string, std::string> last_good;
};

class AuthStore {
 public:
  AuthStore();
  AuthStore(AuthStore&&) noexcept;
  AuthStore& operator=(AuthStore&&) noexcept;
  ~AuthStore();

  // Loads `path`; a missing file is an empty store (not an error). Bad JSON or wrong types are
  // InvalidArgument naming the file, JSON path and line:column.
  static absl::StatusOr<AuthStore> Load(const std::string& path);
  static absl::StatusOr<AuthStore> Parse(const std::string& name, std::string text);

  // Writes the store to `path` atomically with mode 0600.
  absl::Status Save(const std::string& path) const;
  std::string ToJson() const;

  // Locks `path` (advisory, `<path>.lock`), loads it, runs `change`, saves if it returned OK.
  static absl::Status Update(const std::string& path, const std::function<absl::Status(AuthStore&)>& change);

  const std::vector<Credential>& profiles() const { return profiles_; }
  const Credential* Find(const std::string& id) const;
  const std::vector<std::string>* Order(const std::string& provider) const;
  const std::string* LastGood(const std::string& provider) const;
  // The profile's health (empty stats for a profile without any); valid while the store lives.
  const UsageStats& Usage(const std::string& id) const;
  // The same (kept for callers that name it so).
  const UsageStats& UsageRef(const std::string& id) const;
  bool exists() const { return exists_; }
  const std::string& path() const { return path_; }

  void SetOrder(const std::string& provider, const std::vector<std::string>& ids);
  bool ClearOrder(const std::string& provider);
  void UpsertProfile(const Credential& c);
  void SetLastGood(const std::string& provider, const std::string& id);
  void SetUsage(const std::string& id, const UsageStats& u);
  // Removes a profile with its stats, its lastGood entries and its place in stored orders.
  bool RemoveProfile(const std::string& id);
  // Usage and lastGood as read here (what the file holds).
  AuthHealth Health() const { return {usage_, last_good_}; }
  // Replaces usage and lastGood for reading only (the file keeps its own): an engine whose auth
  // health lives in a shared store shows that instead.
  void OverlayHealth(AuthHealth health);
  // Marks a profile stopped by a budget until `until` (read side only, never saved:
  // engine/auth/budgets.h computes it from config and usage).
  void SetBudgetBlock(const std::string& id, int64_t until, std::string reason);

 private:
  void Rebuild();  // refreshes the typed views from doc_
  rapidjson::Value& Section(const char* name);

  std::string path_;
  bool exists_ = false;
  std::unique_ptr<rapidjson::Document> doc_;
  std::vector<Credential> profiles_;
  std::vector<std::pair<std::string, std::vector<std::string>>> order_;
  std::map<std::string, std::string> last_good_;
  std::map<std::string, UsageStats> usage_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_AUTH_STORE_H_
