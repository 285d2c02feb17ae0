#include <modelpin/engine/sessions/memory_store.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/sessions/last_entry.h>

namespace modelpin {

namespace {

// One session, packed: ids into the intern table (0 = field absent).
struct Packed {
  uint32_t provider = 0, model = 0, source = 0, resolution = 0, profile = 0, profile_source = 0, runtime = 0,
           thinking = 0, plugins = 0;
  int16_t compaction = -1;  // -1 = absent
  uint8_t pending = 0;      // 0 absent, 1 false, 2 true
  ModelpinData modelpin;    // scoped pin and history: shared with the states loaded from it
};

}  // namespace

struct MemorySessionStore::Impl {
  using AgentMap = absl::flat_hash_map<std::string_view, Packed, std::hash<std::string_view>>;

  std::mutex mu;
  // The distinct strings the stored sessions use, each with the number of session fields that
  // hold it. A string no session holds waits in `unheld` (a session going back and forth between
  // two models takes it again at once); past kUnheldKept of them, the ones still unheld are freed
  // and their ids reused. So the table follows the live sessions: a plugin's counter or a model
  // id typed once do not stay for good.
  std::vector<std::string> strings{""};                  // id -> string; id 0 unused
  std::vector<uint32_t> holders{0};                      // id -> fields holding it; kFreed when free
  static constexpr uint32_t kFreed = UINT32_MAX;
  std::vector<uint32_t> free_ids;                        // ids of freed strings, for reuse
  std::vector<uint32_t> unheld;                          // ids whose holders went to 0 (may repeat)
  size_t held = 0;                                       // strings with holders
  absl::flat_hash_map<std::string, uint32_t> ids;        // string -> id
  // Session key bytes, in 64 KiB chunks. An erased session leaves its bytes (`dead_bytes`);
  // once they are more than half of the arena, the live keys are copied into a fresh one.
  std::vector<std::unique_ptr<char[]>> arena;
  size_t arena_used = 0;
  size_t arena_bytes = 0;  // key bytes written, live and dead
  size_t dead_bytes = 0;
  static constexpr size_t kChunk = 64 * 1024;
  absl::flat_hash_map<std::string, AgentMap> agents;
  size_t count = 0;
  // A direct-mapped cache in front of `ids`. The strings interned are a few dozen values that
  // recur in every session ("anthropic", "user", "resolved", model ids), so the slot chosen by
  // RecentSlot usually holds the very string asked for: one compare instead of a hash and a
  // probe. A miss only costs that compare; the slot then takes the id the map gives.
  static constexpr size_t kRecentSlots = 64;  // RecentSlot returns 6 bits
  std::array<uint32_t, kRecentSlots> recent{};  // 0 = empty

  // The session the last Load or Put found (Put and the next turn's Load usually find it there).
  // Forgotten whenever a map gains or loses an entry: absl's flat maps move their elements when
  // they grow.
  LastEntry<Packed> last;

  // The slot of `s`: its length, first, middle and last bytes, mixed by a multiplication whose
  // top bits pick the slot. Cheap, and enough to keep the usual few dozen values apart.
  static size_t RecentSlot(std::string_view s) {
    const size_t n = s.size();
    if (n == 0) return 0;
    uint64_t h = n;
    h = h * 131 + static_cast<uint8_t>(s.front());
    h = h * 131 + static_cast<uint8_t>(s[n / 2]);
    h = h * 131 + static_cast<uint8_t>(s.back());
    return static_cast<size_t>((h * 0x9E3779B97F4A7C15ull) >> 58);  // 6 bits: kRecentSlots
  }

  // The id of a string, interning it (with no holder yet: Hold counts the fields that keep it).
  // `hint` is the id the field had before: an unchanged field costs a compare, not a hash.
  uint32_t Intern(const std::optional<std::string>& s, uint32_t hint = 0) {
    if (!s) return 0;
    if (hint != 0 && text::SameBytes(strings[hint], *s)) return hint;
    return Intern(*s);
  }
  uint32_t Intern(const std::string& s) {
    uint32_t& slot = recent[RecentSlot(s)];
    if (slot == 0 || !text::SameBytes(strings[slot], s)) slot = InternSlow(s);
    return slot;
  }
  // Kept out of line so that the hit above stays a small function.
  [[gnu::noinline]] uint32_t InternSlow(const std::string& s) {
    auto it = ids.find(s);
    if (it != ids.end()) return it->second;
    uint32_t id;
    if (!free_ids.empty()) {
      id = free_ids.back();
      free_ids.pop_back();
      strings[id] = s;
      holders[id] = 0;
    } else {
      id = static_cast<uint32_t>(strings.size());
      strings.push_back(s);
      holders.push_back(0);
    }
    ids.emplace(s, id);
    return id;
  }
  // Counts the fields of `now` that differ from `before` (a new session: `before` is all 0):
  // every new holder first, then the old ones let go, so a string that moves from one field to
  // another is never freed on the way.
  void HoldAll(const Packed& now, const Packed& before) {
    const uint32_t a[] = {now.provider, now.model, now.source, now.resolution, now.profile,
                          now.profile_source, now.runtime, now.thinking, now.plugins};
    const uint32_t b[] = {before.provider, before.model, before.source, before.resolution, before.profile,
                          before.profile_source, before.runtime, before.thinking, before.plugins};
    for (size_t i = 0; i < std::size(a); ++i)
      if (a[i] != b[i] && a[i] != 0 && holders[a[i]]++ == 0) ++held;
    for (size_t i = 0; i < std::size(a); ++i)
      if (a[i] != b[i] && b[i] != 0 && --holders[b[i]] == 0) {
        --held;
        unheld.push_back(b[i]);
      }
    if (unheld.size() > MemorySessionStore::kUnheldKept) FreeUnheld();
  }
  // Frees the strings that are still held by no session (an id may be listed more than once).
  [[gnu::noinline]] void FreeUnheld() {
    for (uint32_t id : unheld) {
      if (holders[id] != 0) continue;  // taken again, or freed already
      holders[id] = kFreed;
      if (uint32_t& slot = recent[RecentSlot(strings[id])]; slot == id) slot = 0;
      ids.erase(strings[id]);
      std::string().swap(strings[id]);  // its bytes too
      free_ids.push_back(id);
    }
    unheld.clear();
  }
  // Strings in the table: held by sessions, or waiting in `unheld` (tests and probes).
  size_t TableStrings() const { return strings.size() - 1 - free_ids.size(); }
  // Sets `field` to the string of `id` (absent for 0), reusing the buffer it holds.
  void LookupInto(uint32_t id, std::optional<std::string>& field) const {
    if (id == 0) field.reset();
    else if (!field) field.emplace(strings[id]);
    else if (!text::SameBytes(*field, strings[id])) field->assign(strings[id]);  // a turn's buffers usually hold it already
  }
  // The stored session (agent, key), or nullptr; remembered in `last` when found.
  Packed* Find(const std::string& agent, const std::string& key) {
    if (Packed* p = last.Find(agent, key)) return p;
    return FindSlow(agent, key);
  }
  [[gnu::noinline]] Packed* FindSlow(const std::string& agent, const std::string& key) {
    auto a = agents.find(agent);
    if (a == agents.end()) return nullptr;
    auto it = a->second.find(std::string_view(key));
    if (it == a->second.end()) return nullptr;
    return last.Remember(agent, key, &it->second);
  }
  // Copies a key into the arena.
  std::string_view Keep(std::string_view key) {
    arena_bytes += key.size();
    if (key.size() > kChunk) {
      arena.push_back(std::make_unique<char[]>(key.size()));
      std::memcpy(arena.back().get(), key.data(), key.size());
      return {arena.back().get(), key.size()};
    }
    if (arena.empty() || arena_used + key.size() > kChunk) {
      arena.push_back(std::make_unique<char[]>(kChunk));
      arena_used = 0;
    }
    char* p = arena.back().get() + arena_used;
    std::memcpy(p, key.data(), key.size());
    arena_used += key.size();
    return {p, key.size()};
  }
  // Erases a stored session: its fields let go of their strings, its key bytes are dead.
  void Erase(const std::string& agent, const std::string& key) {
    last.Forget();
    auto a = agents.find(agent);
    auto it = a->second.find(std::string_view(key));
    HoldAll(Packed{}, it->second);
    dead_bytes += it->first.size();
    a->second.erase(it);
    if (a->second.empty()) agents.erase(a);
    --count;
    if (dead_bytes > 4 * kChunk && dead_bytes * 2 > arena_bytes) CompactKeys();
  }
  // Copies the live keys into a fresh arena and rebuilds the maps (which also gives back the
  // room of erased entries): amortised over the dead bytes, at least as many as the live ones.
  [[gnu::noinline]] void CompactKeys() {
    last.Forget();
    std::vector<std::unique_ptr<char[]>> old_arena;
    old_arena.swap(arena);
    arena_used = arena_bytes = dead_bytes = 0;
    for (auto& [name, sessions] : agents) {
      AgentMap fresh;
      fresh.reserve(sessions.size());
      for (auto& [k, v] : sessions) fresh.emplace(Keep(k), std::move(v));
      sessions.swap(fresh);
    }
  }
  Packed Pack(const SessionState& s, const Packed& before = {}) {
    Packed p;
    p.provider = Intern(s.provider_override, before.provider);
    p.model = Intern(s.model_override, before.model);
    p.source = Intern(s.model_override_source, before.source);
    p.resolution = Intern(s.model_override_route_resolution, before.resolution);
    p.profile = Intern(s.auth_profile_override, before.profile);
    p.profile_source = Intern(s.auth_profile_override_source, before.profile_source);
    p.runtime = Intern(s.agent_runtime_override, before.runtime);
    p.thinking = Intern(s.thinking_level, before.thinking);
    if (!s.plugin_state.empty()) {
      SessionState plugins_only;
      plugins_only.plugin_state = s.plugin_state;
      p.plugins = Intern(plugins_only.StorageJson());
    }
    if (!s.modelpin.empty()) p.modelpin = s.modelpin;
    p.compaction = s.auth_profile_override_compaction_count
                       ? static_cast<int16_t>(std::clamp(*s.auth_profile_override_compaction_count, 0, 32767))
                       : int16_t{-1};
    p.pending = s.live_model_switch_pending ? (*s.live_model_switch_pending ? 2 : 1) : 0;
    HoldAll(p, before);
    return p;
  }
  void UnpackInto(const Packed& p, SessionState& s) const {
    if (p.plugins) s.plugin_state = SessionState::FromStorageJson(strings[p.plugins]).value_or(SessionState{}).plugin_state;
    else if (!s.plugin_state.empty()) s.plugin_state.clear();
    LookupInto(p.provider, s.provider_override);
    LookupInto(p.model, s.model_override);
    LookupInto(p.source, s.model_override_source);
    LookupInto(p.resolution, s.model_override_route_resolution);
    LookupInto(p.profile, s.auth_profile_override);
    LookupInto(p.profile_source, s.auth_profile_override_source);
    LookupInto(p.runtime, s.agent_runtime_override);
    LookupInto(p.thinking, s.thinking_level);
    s.auth_profile_override_compaction_count.reset();
    if (p.compaction >= 0) s.auth_profile_override_compaction_count = p.compaction;
    s.live_model_switch_pending.reset();
    if (p.pending) s.live_model_switch_pending = p.pending == 2;
    s.modelpin = p.modelpin;
  }
};

MemorySessionStore::MemorySessionStore() : impl_(std::make_unique<Impl>()) {}
MemorySessionStore::~MemorySessionStore() = default;

absl::Status MemorySessionStore::Load(const std::string& agent, const std::string& key, SessionState& into) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (const Packed* p = impl_->Find(agent, key)) {
    impl_->UnpackInto(*p, into);
    return absl::OkStatus();
  }
  into = SessionState{};
  return absl::OkStatus();
}

absl::Status MemorySessionStore::Put(const std::string& agent, const std::string& key, const SessionState& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (Packed* p = impl_->Find(agent, key)) {
    if (!state.empty()) {
      *p = impl_->Pack(state, *p);
      return absl::OkStatus();
    }
    impl_->Erase(agent, key);
    return absl::OkStatus();
  }
  if (state.empty()) return absl::OkStatus();
  impl_->last.Forget();
  impl_->agents[agent].emplace(impl_->Keep(key), impl_->Pack(state));
  ++impl_->count;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemorySessionStore::Keys(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<std::string> keys;
  auto a = impl_->agents.find(agent);
  if (a != impl_->agents.end())
    for (const auto& [k, v] : a->second) keys.emplace_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

size_t MemorySessionStore::live_strings() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->held;
}

size_t MemorySessionStore::table_strings() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->TableStrings();
}

size_t MemorySessionStore::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->count;
}

}  // namespace modelpin
