// The one cache of decoded session states for the stores whose backend other processes change
// (SQLite, Redis): docs/architecture.md, "Stores".
//
// A backend is versioned: each session has a version that every write raises, and a read can be
// told the version the cache holds, so that it answers "still current" without the state (the
// Redis read script), or just reads the state and its version (SQLite). The cache keeps each
// session's decoded state with its version; the store tells it when versions may have moved
// (Clear: SQLite's change counter moved, Redis's change subscription dropped; DropOlder: a change
// message named a newer version; Drop: a write whose outcome is unknown or lost its check), and
// a read goes to the backend only on a miss or when asked for a fresh state. Not thread-safe:
// the store calls it under its own lock. Internal to engine/sessions/ (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_SESSION_CACHE_H_
#define MODELPIN_ENGINE_SESSIONS_SESSION_CACHE_H_

#include <cstdint>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include <modelpin/engine/sessions/last_entry.h>
#include <modelpin/engine/sessions/session_state.h>

namespace modelpin {

class SessionCache {
 public:
  struct Entry {
    SessionState state;
    uint64_t version = 0;  // the backend's version of the session; 0: never written
  };
  // Bounded: past this many sessions the cache starts again empty.
  static constexpr size_t kLimit = 1 << 16;

  // Reads (agent, key) into `into` and `version`. `cache_key()` gives the entry's key (built only
  // when the last entry used is not this session's). `usable`: the entries may be trusted now
  // (false: read the backend whole, as if nothing were held). `cached`: a held entry may answer
  // (false: ask the backend, telling it the version held). `fetch(const std::string& cache_key, const
  // uint64_t* held, SessionState& into, uint64_t& version, bool& current)` reads the backend;
  // `current` means it still has `*held` and left `into` alone. What it read is kept when
  // `keep()` says the cache may be used now (asked after the fetch: a subscription may drop
  // during it).
  template <typename KeyFn, typename Fetch, typename Keep>
  absl::Status Read(const std::string& agent, const std::string& key, KeyFn&& cache_key, bool usable, bool cached,
                    SessionState& into, uint64_t& version, Fetch&& fetch, Keep&& keep) {
    const Entry* hit = usable ? Find(agent, key, cache_key) : nullptr;
    if (cached && hit != nullptr) {
      into = hit->state;
      version = hit->version;
      return absl::OkStatus();
    }
    const std::string& k = cache_key();
    bool current = false;
    uint64_t held = hit != nullptr ? hit->version : 0;
    absl::Status st = fetch(k, hit != nullptr ? &held : nullptr, into, version, current);
    if (!st.ok()) return st;
    if (current) {
      // The fetch may have dropped the entry (a pipelined reply read on the way): then read whole.
      hit = Find(agent, key, cache_key);
      if (hit != nullptr && hit->version == version) {
        into = hit->state;
        return absl::OkStatus();
      }
      current = false;
      st = fetch(cache_key(), nullptr, into, version, current);
      if (!st.ok()) return st;
    }
    if (keep()) Put(cache_key(), into, version);
    return absl::OkStatus();
  }

  // The entry of (agent, key), or nullptr; remembered as the last one used.
  template <typename KeyFn>
  const Entry* Find(const std::string& agent, const std::string& key, KeyFn&& cache_key) {
    if (const Entry* e = last_.Find(agent, key)) return e;
    auto it = map_.find(cache_key());
    return it == map_.end() ? nullptr : last_.Remember(agent, key, &it->second);
  }
  // Keeps `state` at `version` (after a read or a write the backend acknowledged).
  void Put(const std::string& cache_key, const SessionState& state, uint64_t version) {
    if (map_.size() >= kLimit) Clear();
    Entry& e = map_[cache_key];
    e.state = state;
    e.version = version;
  }
  void Drop(const std::string& cache_key) {
    last_.Forget();
    map_.erase(cache_key);
  }
  // Drops the entry unless it already holds `version` or a later one.
  void DropOlder(const std::string& cache_key, uint64_t version) {
    auto it = map_.find(cache_key);
    if (it != map_.end() && it->second.version < version) {
      last_.Forget();
      map_.erase(it);
    }
  }
  void Clear() {
    last_.Forget();
    map_.clear();
  }
  size_t size() const { return map_.size(); }

 private:
  absl::node_hash_map<std::string, Entry> map_;  // entries never move
  LastEntry<const Entry> last_;                  // the entry the last lookup found
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_SESSION_CACHE_H_
