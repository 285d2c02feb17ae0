#include <modelpin/engine/turn/agent_store.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>

namespace modelpin {

absl::StatusOr<std::string> KnownAgent(const Engine& engine, const std::string& requested) {
  std::string id = engine.ResolveAgent(requested);
  const Config& config = engine.config();
  if (!requested.empty() && !config.HasAgentEntry(id) && id != config.DefaultAgentId() && id != "main")
    return absl::NotFoundError(absl::StrCat("Unknown agent id \"", requested, "\"."));
  return id;
}

absl::Status RequireExplicitOwner(const Config& config, std::string_view requested) {
  if (requested.empty() && config.AgentIds().size() > 1)
    return absl::FailedPreconditionError(
        "Multiple agents are configured, but the model command has no explicit owner. Pass --agent <id>.");
  return absl::OkStatus();
}

absl::Status UpdateOwnStore(const std::string& own, const std::string& effective,
                            const std::function<absl::Status(AuthStore&)>& change) {
  return AuthStore::Update(own, [&](AuthStore& store) -> absl::Status {
    if (!store.exists() && effective != own) {
      auto shared = AuthStore::Load(effective);
      if (!shared.ok()) return shared.status();
      if (shared->exists()) {
        auto copy = AuthStore::Parse(own, shared->ToJson());
        if (!copy.ok()) return copy.status();
        store = *std::move(copy);
      }
    }
    return change(store);
  });
}

absl::Status UpdateOwnStore(const Engine& engine, const std::string& agent,
                            const std::function<absl::Status(AuthStore&)>& change) {
  return UpdateOwnStore(engine.OwnAuthStorePath(agent), engine.EffectiveAuthStorePath(agent), change);
}

absl::Status CheckOrderIds(const AuthStore& store, const std::vector<std::string>& ids, const std::string& provider,
                           const std::string& agent_dir) {
  for (const auto& id : ids) {
    const Credential* c = store.Find(id);
    if (c == nullptr)
      return absl::NotFoundError(absl::StrCat("Auth profile \"", id, "\" not found in ", agent_dir,
                                              ". Run modelpin models status to see saved profiles."));
    if (AuthProvider(c->provider) != AuthProvider(provider))
      return absl::InvalidArgumentError(
          absl::StrCat("Auth profile \"", id, "\" is for ", c->provider, ", not ", provider, "."));
  }
  return absl::OkStatus();
}

std::string OrderFallbackText(const Config& config, const std::string& provider) {
  const std::vector<std::string>* order = config.AuthOrder(AuthProvider(provider));
  if (order == nullptr) order = config.AuthOrder(provider);
  if (order == nullptr) return "selecting automatically";
  if (order->empty()) return "config selects no profiles";
  return "using order from config: " + absl::StrJoin(*order, ", ");
}

std::string BadSecret(std::string_view secret, const std::string& what) {
  if (secret.empty()) return absl::StrCat("no ", what, " read from stdin");
  for (size_t i = 0; i < secret.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(secret[i]);
    if (c < 0x20 || c == 0x7f) return absl::StrCat("the ", what, " contains control characters");
    if (text::SpaceAt(secret, i) > 0) return absl::StrCat("the ", what, " contains whitespace");
  }
  return "";
}

std::string DefaultProfileId(const std::string& provider) { return provider + ":manual"; }

void StoreCredential(AuthStore& store, const Credential& c) {
  const Credential* old = store.Find(c.id);
  if (old && old->secret != c.secret) {
    // A new secret starts healthy; what the profile used stays counted (its budgets too).
    UsageStats fresh;
    fresh.usage = store.Usage(c.id).usage;
    store.SetUsage(c.id, fresh);
  }
  store.UpsertProfile(c);
}

UsageStats ClearedHealth(const UsageStats& u) {
  UsageStats healthy;
  healthy.last_used = u.last_used;
  healthy.use_count = u.use_count;
  healthy.usage = u.usage;  // clearing a cooldown forgives no usage (docs/usage-and-budgets.md)
  return healthy;
}

ProfileHealth CredentialHealth(const Credential& c, const AuthStore& store, int64_t now_ms) {
  ProfileHealth h = DescribeHealth(store.Usage(c.id), "", now_ms);
  if (c.expires && *c.expires <= now_ms && c.type != "api_key") h.state = ProfileHealth::State::kExpired;
  return h;
}

bool OfAuthProvider(const Credential& c, const std::string& provider) {
  return provider.empty() || AuthProvider(c.provider) == AuthProvider(provider);
}

absl::StatusOr<std::vector<std::string>> ClearCooldowns(Engine& engine, const std::string& agent,
                                                        const std::string& id, const std::string& provider,
                                                        const std::string& agent_dir) {
  std::vector<std::string> cleared;
  RETURN_IF_ERROR(UpdateOwnStore(engine, agent, [&](AuthStore& s) -> absl::Status {
    if (!id.empty() && s.Find(id) == nullptr)
      return absl::NotFoundError(absl::StrCat("Auth profile \"", id, "\" not found in ", agent_dir,
                                              ". Run modelpin models auth list to see saved profiles."));
    for (const auto& c : std::vector<Credential>(s.profiles())) {
      if ((!id.empty() && c.id != id) || !OfAuthProvider(c, provider)) continue;
      UsageStats u = s.Usage(c.id);
      UsageStats healthy = ClearedHealth(u);
      if (healthy == u) continue;
      s.SetUsage(c.id, healthy);
      cleared.push_back(c.id);
    }
    return absl::OkStatus();
  }));
  // Health kept in a shared store (modelpin.store) is cleared there too.
  AuthHealthStore& health = engine.auth_health();
  if (!health.InAuthFile()) {
    ASSIGN_OR_RETURN(std::shared_ptr<const AuthStore> store, engine.Auth(agent));
    for (const auto& c : store->profiles()) {
      if ((!id.empty() && c.id != id) || !OfAuthProvider(c, provider)) continue;
      bool changed = false;
      RETURN_IF_ERROR(health.Update(agent, c.id, AuthProvider(c.provider), [&](UsageStats& u, std::string&) {
        UsageStats healthy = ClearedHealth(u);
        changed = !(healthy == u);
        u = healthy;
        return absl::OkStatus();
      }));
      if (changed && std::find(cleared.begin(), cleared.end(), c.id) == cleared.end()) cleared.push_back(c.id);
    }
  }
  engine.Recheck(agent);  // the next route sees the change at once
  return cleared;
}

absl::Status SetAuthOrder(const Engine& engine, const std::string& agent, const std::string& provider,
                          const std::vector<std::string>& ids, const std::string& agent_dir) {
  ASSIGN_OR_RETURN(AuthStore store, AuthStore::Load(engine.EffectiveAuthStorePath(agent)));
  RETURN_IF_ERROR(CheckOrderIds(store, ids, provider, agent_dir));
  RETURN_IF_ERROR(UpdateOwnStore(engine, agent, [&](AuthStore& s) -> absl::Status {
    RETURN_IF_ERROR(CheckOrderIds(s, ids, provider, agent_dir));  // another process may have changed it
    s.SetOrder(provider, ids);
    return absl::OkStatus();
  }));
  engine.Recheck(agent);
  return absl::OkStatus();
}

absl::Status ClearAuthOrder(const Engine& engine, const std::string& agent, const std::string& provider) {
  std::string own = engine.OwnAuthStorePath(agent);
  if (own != engine.EffectiveAuthStorePath(agent)) return absl::OkStatus();
  RETURN_IF_ERROR(AuthStore::Update(own, [&](AuthStore& s) -> absl::Status {
    if (!s.exists()) return absl::OkStatus();
    s.ClearOrder(provider);
    return absl::OkStatus();
  }));
  engine.Recheck(agent);
  return absl::OkStatus();
}

}  // namespace modelpin
