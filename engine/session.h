// Per-session state and where it is kept.
//
// SessionState holds the fields OpenClaw stores on a session entry, under the same JSON names,
// so replays compare field for field. A SessionStore maps (agent, session key) to a state; the
// embedded default is SQLite in WAL mode (one small transaction per change), the memory store
// serves tests and replays without a state dir.
//
//   auto store = SqliteSessionStore::Open("/var/lib/modelpin/sessions.sqlite");
//   SessionState s = (*store)->Get("main", "agent:main:main").value();
//   s.model_override = "claude-sonnet-4-5";
//   (*store)->Put("main", "agent:main:main", s);
#ifndef MODELPIN_ENGINE_SESSION_H_
#define MODELPIN_ENGINE_SESSION_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace modelpin {

struct SessionState {
  std::optional<std::string> provider_override;            // providerOverride
  std::optional<std::string> model_override;               // modelOverride
  std::optional<std::string> model_override_source;        // modelOverrideSource: "user" | "default"
  std::optional<std::string> model_override_route_resolution;  // modelOverrideRouteResolution
  std::optional<std::string> auth_profile_override;        // authProfileOverride
  std::optional<std::string> auth_profile_override_source; // authProfileOverrideSource: "user" | "auto"
  std::optional<int> auth_profile_override_compaction_count;  // authProfileOverrideCompactionCount
  std::optional<bool> live_model_switch_pending;           // liveModelSwitchPending
  std::optional<std::string> agent_runtime_override;       // agentRuntimeOverride
  std::optional<std::string> thinking_level;               // thinkingLevel (not an oracle field)
  // State of other command families, by key ("verboseLevel", "queueMode"); stored, not printed
  // with the oracle's fields.
  std::map<std::string, std::string> plugin_state;

  bool empty() const {
    return !provider_override && !model_override && !model_override_source && !model_override_route_resolution &&
           !auth_profile_override && !auth_profile_override_source && !auth_profile_override_compaction_count &&
           !live_model_switch_pending && !agent_runtime_override && !thinking_level && plugin_state.empty();
  }
  // The fields OpenClaw's oracle prints (all but thinkingLevel) as a compact JSON object with
  // sorted keys: {"authProfileOverride":"anthropic:work",...}.
  std::string OracleJson() const;
  // Every field, for storage.
  std::string StorageJson() const;
  static absl::StatusOr<SessionState> FromStorageJson(std::string_view json);
  friend bool operator==(const SessionState&, const SessionState&) = default;
};

// Calls fn(json_name, value) for every set field OpenClaw's oracle prints, in sorted key order;
// `value` is a std::string, bool or int. Serialisers use it to write fields without copies.
template <typename Fn>
void VisitOracleFields(const SessionState& s, Fn&& fn) {
  if (s.agent_runtime_override) fn("agentRuntimeOverride", *s.agent_runtime_override);
  if (s.auth_profile_override) fn("authProfileOverride", *s.auth_profile_override);
  if (s.auth_profile_override_compaction_count)
    fn("authProfileOverrideCompactionCount", *s.auth_profile_override_compaction_count);
  if (s.auth_profile_override_source) fn("authProfileOverrideSource", *s.auth_profile_override_source);
  if (s.live_model_switch_pending) fn("liveModelSwitchPending", *s.live_model_switch_pending);
  if (s.model_override) fn("modelOverride", *s.model_override);
  if (s.model_override_route_resolution) fn("modelOverrideRouteResolution", *s.model_override_route_resolution);
  if (s.model_override_source) fn("modelOverrideSource", *s.model_override_source);
  if (s.provider_override) fn("providerOverride", *s.provider_override);
}

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // The state of a session; a session never seen is an empty state.
  absl::StatusOr<SessionState> Get(const std::string& agent, const std::string& key);
  // The same, written into `into` (every field replaced). Stores reuse the strings `into` already
  // holds, so a caller that keeps one state per thread allocates nothing.
  virtual absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) = 0;
  // Stores the state (an empty state deletes the entry). When this returns OK the change survives
  // the process being killed; the SQLite store runs WAL with synchronous=NORMAL, so a power loss
  // or OS crash may lose the last moments of changes (synchronous=FULL would cost an fsync each).
  virtual absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) = 0;
  // Session keys of an agent, sorted.
  virtual absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) = 0;
  // A read-modify-write that another process may race: LoadVersioned reports the version it
  // read, PutIfVersion stores only if the session still has that version and answers Aborted
  // otherwise (the caller then redoes its change on a fresh read). Stores that only this process
  // writes under the engine's session lock (memory, SQLite) ignore versions. kFresh asks a store
  // whose cache learns of other processes' changes asynchronously (Redis) to read the server.
  enum class Read { kCached, kFresh };
  virtual absl::Status LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                                     uint64_t& version, Read /*read*/ = Read::kCached) {
    version = 0;
    return Load(agent, key, into);
  }
  virtual absl::Status PutIfVersion(const std::string& agent, const std::string& key, const SessionState& state,
                                    uint64_t /*version*/) {
    return Put(agent, key, state);
  }
  // Group commit, for a caller that acknowledges many changes at once (a transcript replay: its
  // exit status). While `window` is above zero a store may hold changes in one open transaction
  // for up to that long (or a bounded number of changes) before it commits them; Flush() commits
  // what is held and reports any failure since the last Flush. A held change is visible to this
  // store's own reads at once, to other processes when committed. Stores without transactions
  // ignore it (every Put is already committed).
  virtual void SetGroupCommit(std::chrono::milliseconds /*window*/) {}
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

// Sessions in memory, compactly: a bot may hold a million of them. Each field is a 4-byte id
// into a table of distinct strings (a few dozen in practice: providers, models, profile ids),
// session keys live in an arena, and each agent has its own hash map, so lookups allocate nothing.
class MemorySessionStore : public SessionStore {
 public:
  MemorySessionStore();
  ~MemorySessionStore() override;
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override;
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override;
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override;
  size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SqliteSessionStore : public SessionStore {
 public:
  // Opens (creating if needed) the database at `path` in WAL mode. Errors name the file.
  static absl::StatusOr<std::unique_ptr<SqliteSessionStore>> Open(const std::string& path);
  ~SqliteSessionStore() override;
  // Served from this connection's cache while no other writer committed (a change counter in
  // `<path>-changes` that modelpin's writers increment), so an ordinary message on an unchanged
  // session reads no table.
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override;
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override;
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override;
  // Up to `window` or kGroupCommitMax changes in one write transaction (BEGIN IMMEDIATE: other
  // writers wait at most that long; readers are never blocked, WAL).
  void SetGroupCommit(std::chrono::milliseconds window) override;
  absl::Status Flush() override;
  static constexpr size_t kGroupCommitMax = 1000;
  static constexpr int kSchemaVersion = 1;

 private:
  struct Impl;
  explicit SqliteSessionStore(std::unique_ptr<Impl> impl);
  absl::StatusOr<SessionState> ReadLocked(const std::string& agent, const std::string& key);
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSION_H_
