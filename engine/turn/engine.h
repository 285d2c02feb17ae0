// The engine a chat bot embeds. For every inbound message it answers two questions: what to
// reply, and, for text that goes on to the model, which provider/model and which ordered
// credentials the call must use.
//
//   auto config = modelpin::Config::Load(state + "/modelpin.json");
//   auto sessions = modelpin::OpenSqliteSessionStore(state + "/sessions.sqlite");  // store_factory.h
//   auto engine = modelpin::Engine::Create(*std::move(config), *std::move(sessions), {.state_dir = state});
//   absl::StatusOr<modelpin::Outcome> o = (*engine)->Handle({.text = "/model opus@anthropic:work"});
//   for (const auto& r : o->replies) SendToChat(r.text);
//   if (o->route) {                               // an ordinary message: call the model
//     bool ok = CallModel(o->route->model, o->route->profiles.front(), o->route->text);
//     (*engine)->ReportOutcome("main", "agent:main:main", o->route->profiles.front(),
//                              ok ? modelpin::CallResult::kSuccess : modelpin::CallResult::kRateLimit);
//   }
//
// Thread-safe: one engine serves many sessions from many threads; the turns of one session are
// serialised. Errors are absl::Status values; nothing throws across this API.
#ifndef MODELPIN_ENGINE_TURN_ENGINE_H_
#define MODELPIN_ENGINE_TURN_ENGINE_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/base/clock.h>
#include <modelpin/engine/auth/auth_health.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/auth/env_credentials.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/models/resolver.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/events/events.h>
#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

struct EngineOptions {
  // Holds agents/<id>/agent/auth-profiles.json. Empty: no auth stores (every provider "missing").
  std::string state_dir{};
  // Defaults to the system clock.
  std::shared_ptr<const Clock> clock{};
  // Overrides config `modelpin.strict` when set.
  std::optional<bool> strict{};
  // The environment credentials are read from (nullopt: this process's environment). Tests pin
  // it so a developer's own ANTHROPIC_API_KEY never leaks into a golden run.
  std::optional<std::map<std::string, std::string>> environment{};
  // How often (ms of clock time) to look whether an auth store changed on disk. 0: every turn.
  int64_t auth_recheck_ms = 1000;
  // The command families the engine runs, in directive order. Empty: every message is ordinary
  // text. Most embedders want the shipped ones: `.plugins = modelpin::BuiltinPlugins()`
  // (plugins/builtin.h). Run-time plugins named by the config's `plugins.load` are added after.
  PluginRegistry plugins{};
  // Run-time plugin files loaded after the config's `plugins.load` (the CLI's --plugin).
  std::vector<std::string> extra_plugin_files{};
  // Where auth health (usage, cooldowns, lastGood) lives. Default: the agent's auth store file.
  // A shared one (RedisAuthHealth) is looked at on the same schedule as the file.
  std::shared_ptr<AuthHealthStore> auth_health{};
  // Receives what happens to pins, credentials and stores (engine/events/events.h). nullptr: no
  // event is built at all.
  std::shared_ptr<EventSink> events{};
};

struct InboundMessage {
  std::string agent_id{};   // "" = the config's default agent
  std::string session_key{};  // "" = "agent:<agent>:main"
  std::string text{};
  std::string sender{};     // compared with commands.ownerAllowFrom for -a/-g
  MessageSource source = MessageSource::kBot;
  // What the bot knows of the chat, for routing rules (config modelpin.routes): "telegram",
  // "group". Empty: taken from the session key (engine/config/routes.h ParseSessionKey).
  std::string channel{};
  std::string chat_type{};
};

// A later step of a route's plan: the next model of the fallbacks and the profiles it would use.
struct RouteCandidate {
  ModelRef model;
  std::vector<std::string> profiles;
};

// Where the next model call goes (Outcome::route).
struct Route {
  std::string text;                   // what the model receives: directives removed, trimmed
  ModelRef model;
  std::vector<std::string> profiles;  // auth profiles to try, in order (session pin first)
  // The thinking level of this call when the message set one for itself ("hello /think high"):
  // OpenClaw applies such a level to that run only and stores nothing. "" otherwise: the call
  // uses the session's level (Outcome::session.thinking_level, else the model's start level).
  std::string thinking;
  // Set when every profile of the session's model is cooling down or disabled and the call goes
  // to a model of the configured `fallbacks` instead, for this message only: the session keeps
  // its selection and pin. `fallback_reason` says why, for people. (A user pin that cools down
  // only moves behind the provider's other profiles, as in OpenClaw.)
  ModelRef fallback_from;
  std::string fallback_reason;
  // The rest of the plan when `fallbacks` are configured: the models to try after `model`, in
  // order, each with its profiles (only those not cooling down). Empty without fallbacks.
  std::vector<RouteCandidate> plan;
  // The name of the routing rule (config modelpin.routes) that gave this session its default
  // model or auth order; "" when none matched.
  std::string rule;
};

struct Outcome {
  std::string agent_id;
  std::string session_key;
  std::vector<Reply> replies;
  SessionState session;               // as stored after this message
  std::optional<Route> route;         // set when the text goes on to the model
};

// The short form of a call's result (the error classes of CallReport are richer).
enum class CallResult { kSuccess, kAuthError, kRateLimit, kBilling, kTimeout };

class EngineImpl;  // engine/turn/engine_impl.h, not installed

// The public handle of an engine: one pointer to its implementation, so members can change
// without changing libmodelpin's ABI (docs/embedding.md, "API and ABI policy").
class Engine {
 public:
  // An engine over `config` and `sessions` (nullptr: sessions in memory). Fails when the state
  // dir's .env is malformed or a plugin of the config's plugins.load cannot be loaded (the error
  // names the file). The command families come from options.plugins.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(Config config, std::unique_ptr<SessionStore> sessions,
                                                        EngineOptions options = {});
  ~Engine();

  // Handles one inbound message. Errors are store failures (the reply texts of refused commands
  // are not errors: they come back as replies with is_error set).
  absl::StatusOr<Outcome> Handle(const InboundMessage& message);
  // The same, written into `out` (every field replaced), reusing the buffers it already holds: a
  // bot that keeps one Outcome per worker thread allocates nothing on most ordinary messages.
  // On error `out` is unspecified.
  absl::Status Handle(const InboundMessage& message, Outcome& out);

  // Reports how a model call with `profile_id` went, so the next route rotates as OpenClaw does:
  // success records lastUsed/lastGood and clears the cooldown; a failure starts a cooldown of
  // 30 s, then 1 min, then 5 min (the cap). Written to the agent's auth store (locked, atomic).
  absl::Status ReportOutcome(const std::string& agent_id, const std::string& session_key,
                             const std::string& profile_id, CallResult result);
  // The same with what a bot knows: the error class, the provider's Retry-After and the model
  // ("provider/model" cools down that model of the profile only, where the class allows it).
  // The rules are engine/auth/rotation.h's, under config modelpin.rotation.
  absl::Status ReportOutcome(const std::string& agent_id, const std::string& session_key, const CallReport& report);

  // The health of every profile a route concerns: its profiles in order, then the provider's
  // profiles the order leaves out (expired tokens, ...), with why. For replay output and tools.
  std::vector<std::pair<std::string, ProfileHealth>> RouteHealth(const std::string& agent_id, const Route& route);

  // Simulation for replays (`//@ clock`, `//@ outcome`): from now on time comes from `clock`, and
  // reported outcomes change an in-memory copy of the auth stores, never the files. Call it
  // before other threads use the engine.
  void Simulate(std::shared_ptr<const Clock> clock);

  // The config the engine was created with.
  const Config& config() const;
  // Credentials from the environment and <state>/.env, and warnings about them (file modes).
  const EnvCredentials& env() const;
  // The secret behind a profile id of a route ("anthropic:work" or "env:ANTHROPIC_API_KEY"), for
  // the bot's model call. Never log it.
  absl::StatusOr<std::string> SecretFor(const std::string& agent_id, const std::string& profile_id);
  // The plugins this engine runs (EngineOptions::plugins, then plugins.load), with their
  // commands' metadata: for help, completion and command lists.
  const PluginRegistry& plugins() const;
  // The engine's clock, in ms since the epoch.
  int64_t NowMs() const;
  // Where auth health lives (EngineOptions::auth_health, else the auth store file): what a
  // command that resets health (`models auth cooldowns clear`) must write to.
  AuthHealthStore& auth_health() const;
  // The agent a message for `agent_id` goes to: lower-cased, "" = the config's default agent.
  std::string ResolveAgent(const std::string& agent_id) const;
  // The sink of EngineOptions::events (nullptr when none): for a store's failover hook
  // (EmitStoreFailover) and other layers' events.
  EventSink* events() const;

  // Makes the next message of `agent_id` look at its auth store and shared health again, before
  // the usual recheck interval: for tools that just changed them (cooldowns cleared, an order
  // stored) and want the change to route at once.
  void Recheck(const std::string& agent_id) const;
  // The agent's own store path, and the path actually read (its own, else the default agent's).
  std::string OwnAuthStorePath(const std::string& agent_id) const;
  std::string EffectiveAuthStorePath(const std::string& agent_id) const;
  // A snapshot of the agent's effective auth store.
  absl::StatusOr<std::shared_ptr<const AuthStore>> Auth(const std::string& agent_id);
  // The session as stored.
  absl::StatusOr<SessionState> Session(const std::string& agent_id, const std::string& session_key);
  // The session keys of an agent in the engine's store, sorted (operators' listings).
  absl::StatusOr<std::vector<std::string>> SessionKeys(const std::string& agent_id);
  // Deletes a session's entry under its turn lock: its next message starts from the defaults.
  absl::Status ResetSession(const std::string& agent_id, const std::string& session_key);
  // Whether the stores answer now: one read of the session store that bypasses any cache, and
  // the shared auth health's version when health is shared (a readiness probe).
  absl::Status CheckStores();
  // Commits the session changes a store holds back under group commit (SessionStore::
  // SetGroupCommit, which a transcript replay turns on) and reports any failure among them since
  // the last call. A caller that acknowledges those changes (replay: exit status 0) calls it first.
  absl::Status FlushSessions();
  // The resolver of an agent (aliases, policy, visible catalog).
  absl::StatusOr<std::shared_ptr<const ModelResolver>> Resolver(const std::string& agent_id);
  // Runs `fn` with the turn context of a session, read-only: nothing it changes is stored. For
  // tools that show what a message would do (explain, status, doctor).
  absl::Status Inspect(const std::string& agent_id, const std::string& session_key,
                       const std::function<void(TurnContext&)>& fn);
  // `path` with $HOME shortened to "~", as OpenClaw prints store paths.
  static std::string DisplayPath(const std::string& path);

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_ENGINE_H_
