// The engine's implementation behind the installed façade (engine/turn/engine.h): every member
// the turn pipeline needs. Not installed: its layout may change in any release without touching
// libmodelpin's ABI (docs/embedding.md, "API and ABI policy"). Engine forwards each call here.
#ifndef MODELPIN_ENGINE_TURN_ENGINE_IMPL_H_
#define MODELPIN_ENGINE_TURN_ENGINE_IMPL_H_

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <modelpin/engine/turn/engine.h>

namespace modelpin {

class EngineImpl;
// Internal: the events of one reported outcome (cooldown_started, profile_disabled,
// profile_recovered), sent to engine.events(); engine/turn/events.cc, called by
// EngineImpl::ReportOutcome with the profile's health before and after the rule ran.
void EmitHealthChange(EngineImpl& engine, const std::string& agent, const std::string& session, const CallReport& report,
                      const std::string& provider, const UsageStats& before, const UsageStats& after, int64_t now);

class EngineImpl {
 public:
  // An engine over `config` and `sessions` (nullptr: sessions in memory). Fails when the state
  // dir's .env is malformed or a plugin of the config's plugins.load cannot be loaded (the error
  // names the file). The command families come from options.plugins.
  static absl::StatusOr<std::unique_ptr<EngineImpl>> Create(Config config, std::unique_ptr<SessionStore> sessions,
                                                        EngineOptions options = {});
  ~EngineImpl();

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
  const Config& config() const { return config_; }
  // Credentials from the environment and <state>/.env, and warnings about them (file modes).
  const EnvCredentials& env() const { return env_; }
  // The secret behind a profile id of a route ("anthropic:work" or "env:ANTHROPIC_API_KEY"), for
  // the bot's model call. Never log it.
  absl::StatusOr<std::string> SecretFor(const std::string& agent_id, const std::string& profile_id);
  // The plugins this engine runs (EngineOptions::plugins, then plugins.load), with their
  // commands' metadata: for help, completion and command lists.
  const PluginRegistry& plugins() const { return plugins_; }
  // The engine's clock, in ms since the epoch.
  int64_t NowMs() const { return clock_->NowMs(); }
  // Where auth health lives (EngineOptions::auth_health, else the auth store file): what a
  // command that resets health (`models auth cooldowns clear`) must write to.
  AuthHealthStore& auth_health() const { return *health_; }
  // The agent a message for `agent_id` goes to: lower-cased, "" = the config's default agent.
  std::string ResolveAgent(const std::string& agent_id) const;
  // The sink of EngineOptions::events (nullptr when none): for a store's failover hook
  // (EmitStoreFailover) and other layers' events.
  EventSink* events() const { return events_; }

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
  EngineImpl(Config config, std::unique_ptr<SessionStore> sessions, EngineOptions options);
  // What a turn needs of an agent, built when its auth store changes on disk or a cooldown or
  // expiry passes; shared read-only between threads.
  struct AgentCache {
    std::shared_ptr<const AuthStore> auth;
    std::shared_ptr<const ModelResolver> resolver;
    std::unique_ptr<AuthOrderMemo> orders;
    const AgentView* view = nullptr;  // config_.Agent(id)
    std::string auth_path;
    std::string store_label;  // auth_path as shown in replies
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t health_version = 0;  // of a shared health store
    std::atomic<int64_t> checked_at{0};
  };
  absl::StatusOr<std::shared_ptr<const AgentCache>> Agent(const std::string& agent_id);
  absl::StatusOr<std::shared_ptr<const AgentCache>> Agent(const std::string& agent_id, int64_t now_ms);
  static bool Fresh(const AgentCache& c, int64_t now, int64_t recheck_ms);
  // A turn's agent cache, lent by the thread: the cache the thread's last turn used, while it is
  // the same engine's and agent's, the engine's map of caches is unchanged (agents_gen_) and the
  // cache fresh; else Agent(). Taking it costs no lock and no reference count (the read lock and
  // the shared_ptr copy were four atomic operations of every turn). The lease gives it back to
  // the thread when the turn ends; a turn inside a turn (none today) finds the slot empty and
  // asks Agent().
  class AgentLease;
  absl::StatusOr<AgentLease> LeaseAgent(const std::string& agent_id, int64_t now_ms);
  absl::Status HandleTurn(const InboundMessage& message, Outcome& out);
  // What a turn did with its session in the store: the version it read, whether it wrote.
  struct TurnStore {
    uint64_t version = 0;
    bool plain = false;  // an ordinary message: served from the cache, nothing to confirm
    bool wrote = false;
    // With an event sink only: the selection before a turn with directives (pin_changed). A
    // pointer: an ordinary message's TurnStore stays a few words to set up.
    std::unique_ptr<PinSelection> before;
    absl::Status Put(SessionStore& store, const Outcome& out, const SessionState& state);
  };
  absl::Status HandleTurnOnce(const InboundMessage& message, Outcome& out, TurnStore& ts);
  std::mutex& SessionLock(const std::string& agent, const std::string& key);
  // Events (engine/events/events.h), only called when a sink is set. A turn's pin change and
  // fallback, after it is stored:
  void EmitTurnEvents(const Outcome& out, const TurnStore& ts, int64_t now);
  // Cooldowns and disables of `store` that ran out since this engine started and were not yet
  // announced: cooldown_ended, profile_recovered (built when an agent's cache is rebuilt, which
  // happens when one runs out; under agents_mu_, sent after it is released).
  std::vector<Event> LapsedHealth(const std::string& agent, const AuthStore& store, int64_t now);
  void Emit(Event event);

  Config config_;
  EnvCredentials env_;
  std::unique_ptr<SessionStore> sessions_;
  EngineOptions options_;
  std::shared_ptr<AuthHealthStore> health_;
  std::shared_ptr<const Clock> clock_;
  bool strict_;
  PluginRegistry plugins_;
  mutable std::shared_mutex agents_mu_;
  std::map<std::string, std::shared_ptr<AgentCache>> agents_;
  // Bumped under agents_mu_ whenever agents_ gains, loses or replaces an entry (LeaseAgent).
  std::atomic<uint64_t> agents_gen_{0};
  const uint64_t serial_;  // this engine among the process's engines, never reused (LeaseAgent)
  std::array<std::mutex, 64> session_locks_;
  // Simulate(): auth stores changed in memory, by path.
  bool simulated_ = false;
  std::map<std::string, std::shared_ptr<const AuthStore>> simulated_auth_;
  EventSink* events_ = nullptr;  // options_.events
  int64_t created_ms_ = 0;
  std::string default_agent_;  // config_.DefaultAgentId(), named once: every turn without an agent uses it
  // The end of each cooldown or disable already announced, by "<agent>\n<profile>[\n<model>]".
  std::map<std::string, int64_t> announced_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_ENGINE_IMPL_H_
