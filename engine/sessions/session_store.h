// Where sessions are kept: the SessionStore interface every backend implements (memory,
// SQLite, Redis), keyed by (agent, session key).
#ifndef MODELPIN_ENGINE_SESSIONS_SESSION_STORE_H_
#define MODELPIN_ENGINE_SESSIONS_SESSION_STORE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/sessions/session_state.h>

namespace modelpin {

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
  // For a read-modify-write that ends up storing nothing: OK when the session still has
  // `version`, Aborted when another process changed it since (the store then holds the fresh
  // state for the caller's next read). Stores only this process writes answer OK.
  virtual absl::Status Confirm(const std::string& /*agent*/, const std::string& /*key*/, uint64_t /*version*/) {
    return absl::OkStatus();
  }
  // Group commit, for a caller that acknowledges many changes at once (a transcript replay: its
  // exit status). While `window` is above zero a store may hold changes in one open transaction
  // for up to that long (or a bounded number of changes) before it commits them; Flush() commits
  // what is held and reports any failure since the last Flush. A held change is visible to this
  // store's own reads at once, to other processes when committed. Stores without transactions
  // ignore it (every Put is already committed).
  virtual void SetGroupCommit(std::chrono::milliseconds /*window*/) {}
  // How long a caller keeps redoing a change that PutIfVersion or Confirm refuses (Aborted)
  // because other processes keep changing the session: the store's own timeout. The engine
  // retries with jittered pauses within it (docs/faults.md).
  virtual std::chrono::milliseconds ContentionBudget() const { return std::chrono::seconds(10); }
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_SESSION_STORE_H_
