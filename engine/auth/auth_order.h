// The effective auth profile order for one (agent, provider): which stored credentials a model
// call tries, first to last (docs/rotation.md). Pure: it reads config, the auth store and the clock.
//
//   AuthOrder o = ResolveAuthOrder({&config, &store, "anthropic", now_ms});
//   o.ids;     // {"anthropic:work", "anthropic:default"}
//   o.source;  // AuthOrder::Source::kAutomatic
#ifndef MODELPIN_ENGINE_AUTH_AUTH_ORDER_H_
#define MODELPIN_ENGINE_AUTH_AUTH_ORDER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {

struct EnvCredential;  // engine/auth/env_credentials.h

struct AuthOrderInput {
  const Config* config = nullptr;
  const AuthStore* store = nullptr;  // the agent's effective store
  std::string provider;              // the model's provider (auth aliases are applied here)
  int64_t now_ms = 0;
  // "provider/model" of the call: that model's own cooldowns count too. "" = the profile's only.
  std::string model{};
  // A routing rule's authOrder for this provider (engine/config/routes.h): it replaces the stored and
  // the config order for the sessions the rule matched, and is filtered the same way.
  const std::vector<std::string>* rule_order = nullptr;
};

struct AuthOrder {
  enum class Source { kStored, kConfig, kConfiguredProfiles, kStoreProfiles, kFallback, kRule };
  std::vector<std::string> ids;   // eligible profiles, in the order they will be tried
  Source source = Source::kStoreProfiles;
  bool explicit_order = false;    // an explicit order was present (it then also filters)
  // Profiles considered and left out, with the reason ("not in the store", "mode mismatch", ...).
  std::vector<std::pair<std::string, std::string>> excluded;
  // Profiles of `ids` that are cooling down or disabled (moved to the end).
  std::vector<std::string> cooling;
  // The provider's rotation strategy (config modelpin.rotation.strategy).
  Strategy strategy = Strategy::kRoundRobin;
  // quota_aware only: profiles of `ids` whose reported quota is under the threshold (they were
  // moved behind the others); an auto pin on one of them moves to the front profile.
  std::vector<std::string> low_quota;
  // Every eligible profile is cooling down or disabled: the model cannot be called now.
  bool AllCooling() const { return !ids.empty() && cooling.size() == ids.size(); }
};

AuthOrder ResolveAuthOrder(const AuthOrderInput& in);

// Effective orders of one (config, auth store) pair, computed once per provider. Orders change
// with time only where a cooldown ends or a credential expires; ValidUntil() is the first such
// instant after `now`, and the owner drops the memo then (or when the store changes on disk).
class AuthOrderMemo {
 public:
  AuthOrderMemo(const Config* config, const AuthStore* store, int64_t now_ms);
  // The order for `provider` at `now_ms` (which must be before ValidUntil()). Thread-safe.
  const AuthOrder& For(const std::string& provider, int64_t now_ms) const { return For(provider, {}, now_ms); }
  // The same for one model ("provider/model"): differs only while that model has its own cooldowns.
  // With `rule` (a routing rule that has an authOrder for `provider`), the order of that rule's
  // sessions, memoised per rule like the others; a rule without one gives the agent's order.
  const AuthOrder& For(const std::string& provider, std::string_view model, int64_t now_ms,
                       const RouteRule* rule = nullptr) const;
  int64_t ValidUntil() const { return valid_until_; }
  // Some profile has a running model cooldown (only then do orders differ by model).
  bool HasModelCooldowns() const { return model_cooldowns_; }

 private:
  const Config* config_;
  const AuthStore* store_;
  int64_t valid_until_;
  bool model_cooldowns_ = false;  // some profile has a model cooldown: orders are per model
  mutable std::mutex mu_;
  mutable std::map<std::string, std::unique_ptr<const AuthOrder>, std::less<>> orders_;
  // The key and order the last lookup found (under mu_): one compare on the usual turn, where
  // every message of a bot asks for the same provider.
  mutable std::string last_key_;
  mutable const AuthOrder* last_ = nullptr;
};

// AuthProvider(a) == AuthProvider(b) (engine/config/model_ref.h), without allocating (this runs on every routed message).
bool SameAuthProvider(std::string_view a, std::string_view b);

// The provider a profile id authenticates: the stored credential's, else config auth.profiles',
// else the part of the id before ':'.
std::string_view ProfileProvider(const std::string& id, const Config& config, const AuthStore& store);

// Whether `c` may be used for `provider` now (type, expiry, cooldown), and if not, why.
bool IsEligible(const Credential& c, const std::string& provider, const Config& config, int64_t now_ms,
                std::string* why);

// The one masking function: how every output (replies, explain, the CLI, plugins' route view)
// shows a secret, in the config's mode (Config::masking()). Never the secret itself.
//   kCompat:      OpenClaw's "sk-ant-a...AAAAAAAA" (first 8, last 8; shorter secrets less)
//   kPrefix:      the key's type prefix only, "sk-ant-..." (letter groups ending in '-' or '_',
//                 at most 3 and 12 bytes; "..." when the secret has none)
//   kFingerprint: "fp:" + the first 8 hex digits of the secret's SHA-256, "fp:3f9a1c2e": tells two
//                 keys apart (and matches `sha256sum`), shows no byte of either
// Control characters are dropped and the secret trimmed first; an empty one gives "".
std::string MaskSecret(std::string_view secret, MaskingMode mode = MaskingMode::kCompat);
// How every output shows a stored credential (status, explain, `models status`, plugins):
// the masked key for a key, "token:" + the masked token for a token, "OAuth (me@x.com)" for
// OAuth, "ref" for a keyRef/tokenRef and "missing" without a secret. With kSecretOnly, for an
// output that shows the type beside it (`models auth list`, "Saved ID (token) ..."): the masked
// secret alone, for every type ("ref" and "missing" as above).
enum class CredentialLabel { kWithType, kSecretOnly };
std::string MaskedCredential(const Credential& c, MaskingMode mode = MaskingMode::kCompat,
                             CredentialLabel label = CredentialLabel::kWithType);
// How every output shows a credential from the environment: its value masked (the output adds
// the variable's name where it shows one).
std::string MaskedCredential(const EnvCredential& c, MaskingMode mode = MaskingMode::kCompat);
// The first 8 hex digits of SHA-256(`bytes`): the fingerprint kFingerprint shows.
std::string Fingerprint(std::string_view bytes);

// "12h", "2d", "5m", "soon" for a remaining duration in ms.
std::string FormatRemaining(int64_t ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_AUTH_ORDER_H_
