// The rules of the commands that change an agent's auth store (`modelpin models auth ...`, and
// any tool that stores credentials for an agent): which agent a command may name, who owns a
// change when several agents are configured, how an agent without a store of its own gets one,
// which profile ids an order may list, and which secrets may be stored. The CLI only parses
// arguments and prints; these decide.
//
//   ASSIGN_OR_RETURN(std::string agent, KnownAgent(engine, "work"));
//   RETURN_IF_ERROR(UpdateOwnStore(engine, agent, [&](AuthStore& s) {
//     RETURN_IF_ERROR(CheckOrderIds(s, ids, "anthropic", "~/.modelpin/agents/work/agent"));
//     s.SetOrder("anthropic", ids);
//     return absl::OkStatus();
//   }));
#ifndef MODELPIN_ENGINE_TURN_AGENT_STORE_H_
#define MODELPIN_ENGINE_TURN_AGENT_STORE_H_

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/turn/engine.h>

namespace modelpin {

// The agent a command is about. `requested` ("" = not given) is matched case-insensitively; it
// must be a configured agent entry, the default agent or "main", else NotFound ("Unknown agent
// id "x"."). Without `requested`, the config's default agent.
absl::StatusOr<std::string> KnownAgent(const Engine& engine, const std::string& requested);

// As OpenClaw: a change of auth state needs an explicit owner when several agents are
// configured. FailedPrecondition when `requested` is empty and the config has more than one
// agent entry; OK otherwise.
absl::Status RequireExplicitOwner(const Config& config, std::string_view requested);

// Runs `change` on the agent's own store (`own`, locked, saved when `change` returns OK). An
// agent without a store of its own (`own` missing or empty) starts from a copy of the store it
// reads now (`effective`, when that is another file that exists), so it keeps its credentials
// and the rest of its auth state; the store it read is not changed.
absl::Status UpdateOwnStore(const std::string& own, const std::string& effective,
                            const std::function<absl::Status(AuthStore&)>& change);
// The same for an agent of `engine` (its OwnAuthStorePath and EffectiveAuthStorePath).
absl::Status UpdateOwnStore(const Engine& engine, const std::string& agent,
                            const std::function<absl::Status(AuthStore&)>& change);

// Whether `ids` may be stored as the agent's order for `provider`: each must be a profile of
// `store` whose provider authenticates as `provider` (AuthProvider). NotFound naming the first
// missing id and `agent_dir` (as shown to people), or InvalidArgument naming the profile's
// provider.
absl::Status CheckOrderIds(const AuthStore& store, const std::vector<std::string>& ids, const std::string& provider,
                           const std::string& agent_dir);

// What an agent uses for `provider` when it stores no order of its own: the config's
// auth.order (under the auth provider, else as typed), else automatic selection. For people:
// "using order from config: a, b", "config selects no profiles" or "selecting automatically".
std::string OrderFallbackText(const Config& config, const std::string& provider);

// Why `secret` (already trimmed) cannot be stored, "" when it can: it may not be empty or hold
// control characters or whitespace. `what` names it ("token", "API key").
std::string BadSecret(std::string_view secret, const std::string& what);

// The profile id a stored secret gets when none is given: "<provider>:manual".
std::string DefaultProfileId(const std::string& provider);

// Stores `c` in `store`, replacing a profile of the same id. A changed secret starts healthy:
// a profile disabled (or cooling down) until its credential changes is usable again.
void StoreCredential(AuthStore& store, const Credential& c);

// `u` with its cooldowns, disables and error counts cleared; last use, use count and usage are kept
// (`models auth cooldowns clear`).
UsageStats ClearedHealth(const UsageStats& u);

// A saved profile's health as operators see it (`models auth list`, the service's profiles):
// DescribeHealth of its stats, except that an expired token (not an API key) is "expired"
// whatever its stats say.
ProfileHealth CredentialHealth(const Credential& c, const AuthStore& store, int64_t now_ms);

// Whether `c` belongs to `provider` ("" = every provider), compared as auth providers.
bool OfAuthProvider(const Credential& c, const std::string& provider);

// `models auth cooldowns clear`: makes the agent's profiles usable again (cooldowns, disables and
// error counts reset; last use kept): the profile `id`, else every profile of `provider`, else
// every profile. Written to the agent's own store and, when health is shared (modelpin.store),
// to the shared health. Returns the ids whose health changed. NotFound naming `id` and
// `agent_dir` when the agent has no such profile.
absl::StatusOr<std::vector<std::string>> ClearCooldowns(Engine& engine, const std::string& agent,
                                                        const std::string& id, const std::string& provider,
                                                        const std::string& agent_dir);

// `models auth order set`: checks `ids` (CheckOrderIds) against the store the agent reads now,
// so a refused set creates nothing, then stores them as the agent's own order for `provider`.
absl::Status SetAuthOrder(const Engine& engine, const std::string& agent, const std::string& provider,
                          const std::vector<std::string>& ids, const std::string& agent_dir);
// `models auth order clear`: only the agent's own store can hold its order; an agent that reads
// another agent's store has nothing to clear.
absl::Status ClearAuthOrder(const Engine& engine, const std::string& agent, const std::string& provider);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_AGENT_STORE_H_
