// The agent configuration, read from an openclaw.json-shaped file.
//
//   ASSIGN_OR_RETURN(Config cfg, Config::Load("fixtures/state/modelpin.json"));
//   const AgentView& main = cfg.Agent("main");    // defaults merged with agents.entries.main
//   main.default_ref;                              // {"anthropic", "claude-opus-4-5"}
//
// Only the keys of ConfigKeys() are read (docs/configuration.md describes each). Wrong types are
// errors that name the file, the JSON path and line:column. A key under `modelpin` that is not in
// the table is an error too, with the nearest known key ("did you mean"); keys elsewhere that
// modelpin does not read are OpenClaw's, kept in ignored_keys() for `modelpin doctor`. The model
// catalog is `models.providers.<p>.models[]`: modelpin has no built-in catalog.
#ifndef MODELPIN_ENGINE_CONFIG_CONFIG_H_
#define MODELPIN_ENGINE_CONFIG_CONFIG_H_

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/config/rotation_policy.h>
#include <modelpin/engine/config/routes.h>
#include <modelpin/engine/config/model_ref.h>
#include <modelpin/engine/config/usage.h>

namespace modelpin {

// How outputs show a secret (config `modelpin.masking`; engine/auth/auth_order.h MaskSecret):
// kCompat is OpenClaw's first 8 + "..." + last 8, kPrefix only the key's type prefix
// ("sk-ant-..."), kFingerprint a short hash that tells keys apart and reveals none of them.
enum class MaskingMode { kCompat, kPrefix, kFingerprint };

// One key the config parser reads. `path` is where it sits, "*" standing for any member name and
// "[]" for every element of an array: "modelpin.rotation.strategy.*",
// "modelpin.routes[].match.chatType". `type` is as docs/configuration.md writes it. Adding a key
// to the config is one line in this table (engine/config/config_keys.cc), its reading in the parser and
// its row in docs/configuration.md (test/config_keys_test.cc holds the three together).
struct ConfigKey {
  std::string_view path;
  std::string_view type;
};
std::span<const ConfigKey> ConfigKeys();

struct ModelAliasEntry {
  std::string key;    // "anthropic/claude-opus-4-5" as written in config
  ModelRef ref;       // the key parsed
  std::string alias;  // "" when the entry has no alias
  // "authProfile": the credential a /model selection of this model pins when it names none
  // (docs/pins.md, "A model's own credential"); "" when not set.
  std::string auth_profile{};
};

struct CatalogRow {
  ModelRef ref;       // provider + model id as listed under models.providers.<p>.models
  std::string name;   // display name ("" when absent)
  // Thinking level a session on this model starts with (modelpin's catalog key
  // "thinkingDefault"; OpenClaw takes it from its built-in catalog). "" = not given.
  std::string thinking_default;
  // Thinking levels this model accepts ("thinkingLevels"); empty = not given (engine/models/thinking.h).
  std::vector<std::string> thinking_levels;
  // Catalog "status": "deprecated" rows are listed by /models only with "all" (OpenClaw hides them).
  bool deprecated = false;
  // OpenClaw's "reasoning": false for a model that cannot think (only "off"), true for one that
  // starts at "medium" when nothing else names its default; unset when not given.
  std::optional<bool> reasoning;
  // "cost": USD per million tokens (engine/config/usage.h); unset = no price, the cost is unknown.
  std::optional<ModelPrice> cost;
};

struct ProviderConfig {
  std::string id;
  std::string base_url;  // "" = default endpoint
  std::string api;
};

struct AuthProfileConfig {
  std::string id;
  std::string provider;
  std::string mode;  // api_key | token | oauth | aws-sdk
};

// A model policy: `allow` entries, exact refs or "provider/..."-prefix wildcards ending in "/*".
struct ModelPolicy {
  std::vector<std::string> allow;
  std::string path;  // the config path named in "not allowed" replies
};

// Everything about one agent, with agents.entries.<id> merged over agents.defaults.
struct AgentView {
  std::string id;
  ModelRef default_ref;                      // effective primary model
  std::vector<ModelRef> fallbacks;
  std::vector<ModelRef> image_models;
  std::vector<ModelAliasEntry> models;       // defaults' keys, then the agent's own
  size_t default_models_count = 0;           // how many of `models` come from agents.defaults
  std::optional<ModelPolicy> policy;         // absent or empty = allow any
  std::vector<std::string> shorthand_aliases_lower;  // defaults' aliases only, as in OpenClaw
};

class Config {
 public:
  // Loads and validates `path`. NotFound when the file does not exist.
  static absl::StatusOr<Config> Load(const std::string& path);
  // Parses config text; `name` is used in error messages.
  static absl::StatusOr<Config> Parse(const std::string& name, std::string text);
  // The config of a fresh state dir: no models, no profiles.
  static Config Empty();

  const std::string& path() const { return path_; }
  // The view of agent `id` (agents without an entry get the defaults). Stable reference.
  const AgentView& Agent(const std::string& id) const;
  bool HasAgentEntry(const std::string& id) const;
  std::vector<std::string> AgentIds() const;  // configured entries, sorted
  // Default agent: agents.defaults.systemAgent.agentId, else the only entry, else "main".
  std::string DefaultAgentId() const;

  const std::vector<CatalogRow>& catalog() const { return catalog_; }
  const std::vector<ProviderConfig>& providers() const { return providers_; }
  const ProviderConfig* Provider(const std::string& id) const;
  const std::vector<AuthProfileConfig>& auth_profiles() const { return auth_profiles_; }
  const AuthProfileConfig* AuthProfile(const std::string& id) const;
  // auth.order.<provider>, if present (an empty list selects nothing).
  const std::vector<std::string>* AuthOrder(const std::string& provider) const;
  const std::vector<std::pair<std::string, std::vector<std::string>>>& auth_order() const { return auth_order_; }
  bool strict() const { return strict_; }
  // modelpin.masking: how every output masks a secret (default kCompat, OpenClaw's form).
  MaskingMode masking() const { return masking_; }
  // modelpin.rotation: the health rules per error class and the strategy per provider.
  const RotationPolicy& rotation() const { return rotation_; }
  // modelpin.budgets (docs/usage-and-budgets.md); empty when none is configured.
  const std::vector<Budget>& budgets() const { return budgets_; }
  // The catalog price of "provider/model", if its row has a `cost`.
  std::optional<ModelPrice> PriceOf(std::string_view provider_model) const;
  // modelpin.probe: re-testing disabled profiles (docs/probing.md).
  const ProbePolicy& probe() const { return probe_; }
  // Where sessions and auth health live (`modelpin.store`, `storePrefix`, `storeTimeoutMs`,
  // `storeWaitReplicas`):
  // an empty url is the local default (SQLite beside the state dir).
  struct StoreConfig {
    std::string url;
    std::string prefix = "modelpin:";
    int timeout_ms = 250;
    int wait_replicas = 0;  // storeWaitReplicas: replicas that must confirm a write (Redis WAIT)
  };
  const StoreConfig& store() const { return store_; }
  // modelpin.webhooks: [{url, events, secret}]: where events are POSTed, signed with the secret
  // (observe/webhooks.h, docs/events.md). `events` holds event kind names; empty: every kind.
  struct WebhookConfig {
    std::string url;
    std::vector<std::string> events;
    std::string secret;  // never printed
  };
  const std::vector<WebhookConfig>& webhooks() const { return webhooks_; }
  const std::vector<std::string>& owner_allow_from() const { return owner_allow_from_; }
  // modelpin.profileAccess: who may pin a credential in chat ("/model opus@anthropic:work").
  // Profiles without an entry may be pinned by anyone, as in OpenClaw; a profile with one only by
  // owners (commands.ownerAllowFrom) and the senders its allowFrom lists ("*": everyone). The
  // operator's routing (auth order, rules, a model's authProfile) is never restricted.
  struct ProfileAccess {
    std::vector<std::string> allow_from;
  };
  // The rule for `profile_id`, nullptr when it has none.
  const ProfileAccess* ProfileAccessFor(std::string_view profile_id) const;
  // Whether `sender` (an owner or not) may pin `profile_id` in chat.
  bool MayPinProfile(std::string_view profile_id, std::string_view sender, bool sender_is_owner) const;
  // commands.botName (without a leading '@'), "" when unset: "/model@<botName> ..." is this
  // bot's command and "/model@<otherBot> ..." ordinary text (Telegram's group convention).
  const std::string& bot_name() const { return bot_name_; }
  // plugins.load: run-time plugin files (engine/turn/plugin_loader.h), relative ones made relative to
  // the config file's folder. Engine::Create loads them.
  const std::vector<std::string>& plugin_paths() const { return plugin_paths_; }
  // plugins.entries.<name>.config as compact JSON text, nullptr when the config has none: a run-time
  // plugin of ABI 2 receives it when it starts (engine/turn/plugin_loader.h).
  const std::string* PluginConfig(std::string_view name) const {
    auto it = plugin_configs_.find(name);
    return it == plugin_configs_.end() ? nullptr : &it->second;
  }
  // modelpin.routes, in config order (engine/config/routes.h); empty when the config has none.
  const std::vector<RouteRule>& routes() const { return routes_; }
  // The rule named `name`, or nullptr (names are unique; "" finds none).
  const RouteRule* FindRoute(std::string_view name) const;
  // JSON paths ("$.gateway", "$.agents.entries.main.workspace") of the keys outside `modelpin`
  // that modelpin does not read (OpenClaw's own): they have no effect here. Topmost only: the
  // members of an ignored key are not listed again. In document order.
  const std::vector<std::string>& ignored_keys() const { return ignored_keys_; }
  // The view of agent `id` for a session that `rule` matched: the agent's own view with the rule's
  // model as its default (the rule's model is what the session's "default" means). The agent's
  // own view when the rule sets no model. Stable reference.
  const AgentView& RuleAgent(const std::string& id, const RouteRule& rule) const;

 private:
  struct AgentEntry {
    std::optional<ModelRef> primary;
    std::optional<std::vector<ModelRef>> fallbacks;
    std::vector<ModelAliasEntry> models;
    std::optional<std::vector<std::string>> allow;
  };
  // The steps of Parse, one per top-level section of the document (engine/config/config.cc).
  struct Parser;
  void BuildViews();
  void InjectProviderDefaults();
  AgentView MakeView(const std::string& id, const AgentEntry* entry) const;

  std::string path_;
  ModelRef primary_;
  std::vector<ModelRef> fallbacks_;
  std::vector<ModelRef> image_models_;
  std::vector<ModelAliasEntry> default_models_;
  std::optional<std::vector<std::string>> default_allow_;
  std::string system_agent_;
  std::map<std::string, AgentEntry> entries_;
  std::vector<CatalogRow> catalog_;
  std::vector<ProviderConfig> providers_;
  std::vector<AuthProfileConfig> auth_profiles_;
  std::vector<std::pair<std::string, std::vector<std::string>>> auth_order_;
  std::vector<std::string> owner_allow_from_;
  std::map<std::string, ProfileAccess, std::less<>> profile_access_;
  std::string bot_name_;
  std::vector<std::string> plugin_paths_;
  std::map<std::string, std::string, std::less<>> plugin_configs_;
  std::vector<RouteRule> routes_;
  std::vector<std::string> ignored_keys_;
  bool strict_ = false;
  MaskingMode masking_ = MaskingMode::kCompat;
  RotationPolicy rotation_;
  std::vector<Budget> budgets_;
  ProbePolicy probe_;
  StoreConfig store_;
  std::vector<WebhookConfig> webhooks_;
  // Views are built once at load; agents without an entry share `fallback_view_`.
  std::map<std::string, AgentView> views_;
  AgentView fallback_view_;
  // RuleAgent(): per rule (by index), the views of the agents with an entry, and of the others.
  std::vector<std::map<std::string, AgentView>> rule_views_;
  std::vector<AgentView> rule_fallback_views_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_CONFIG_H_
