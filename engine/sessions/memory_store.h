// The in-process session store: tests, replays and bots without a state dir.
#ifndef MODELPIN_ENGINE_SESSIONS_MEMORY_STORE_H_
#define MODELPIN_ENGINE_SESSIONS_MEMORY_STORE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <modelpin/engine/sessions/session_store.h>

namespace modelpin {

// Sessions in memory, compactly: a bot may hold a million of them. Each field is a 4-byte id
// into a table of distinct strings (a few dozen in practice: providers, models, profile ids),
// session keys live in an arena, and each agent has its own hash map, so lookups allocate nothing.
// Memory follows the live sessions: strings no session holds any more are freed (in batches),
// and the bytes of erased sessions' keys are given back once they are half the arena.
class MemorySessionStore : public SessionStore {
 public:
  MemorySessionStore();
  ~MemorySessionStore() override;
  absl::Status Load(const std::string& agent, const std::string& key, SessionState& into) override;
  absl::Status Put(const std::string& agent, const std::string& key, const SessionState& state) override;
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& agent) override;
  size_t size() const;
  // Distinct strings the stored sessions hold now.
  size_t live_strings() const;
  // Strings in the store's table: those held, and at most kUnheldKept + 1 that no session holds
  // any more (kept for a session that takes one again; then freed).
  size_t table_strings() const;
  static constexpr size_t kUnheldKept = 64;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_MEMORY_STORE_H_
