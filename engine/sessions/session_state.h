// A session's state: the fields OpenClaw stores on a session entry, under the same JSON names (so
// replays compare field for field), and modelpin's own (scoped pin, pin history) with the
// interned values they share. Serialised by session_json.cc; kept by a SessionStore
// (session_store.h).
#ifndef MODELPIN_ENGINE_SESSIONS_SESSION_STATE_H_
#define MODELPIN_ENGINE_SESSIONS_SESSION_STATE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include <modelpin/engine/sessions/pin_source.h>

namespace modelpin {

namespace intern_internal {
// A value of an intern table and the number of its holders. Taking a holder from another holder
// is an atomic increment; the holder that takes the count to zero does so under the table's lock
// (DropLast), so a lookup, which takes its holder under the same lock, never finds a value being
// freed. `immortal` values (the history's source names) are held by the process for good.
struct Node {
  mutable std::atomic<uint32_t> refs{1};
  mutable std::atomic<bool> immortal{false};
  void (*drop_last)(const Node*) = nullptr;  // releases the last holder: erases and frees
};
template <typename T>
struct NodeOf : Node {
  explicit NodeOf(const T& v, size_t h) : value(v), hash(h) {}
  T value;
  size_t hash;
};
inline void Acquire(const Node* n) {
  if (n) n->refs.fetch_add(1, std::memory_order_relaxed);
}
inline void Release(const Node* n) {
  if (!n) return;
  uint32_t r = n->refs.load(std::memory_order_relaxed);
  while (r > 1)
    if (n->refs.compare_exchange_weak(r, r - 1, std::memory_order_acq_rel, std::memory_order_relaxed)) return;
  n->drop_last(n);
}
}  // namespace intern_internal

// A value shared by pointer between the sessions that hold it: copying one is copying a pointer
// (and counting a holder), and equal values are the same pointer. History events and scoped pins
// hold their selections and names this way, so a pinned session costs tens of bytes, not a
// kilobyte (a million pinned sessions fit in 256 MB: docs/performance.md). A value lives while something holds it: a
// value no session holds any more is freed, so the table holds what live sessions use, not every
// selection the process ever saw (docs/performance.md, "Memory over time"). A default Interned holds T{}.
// Thread-safe.
template <typename T>
class Interned {
 public:
  Interned() = default;
  explicit Interned(const T& value) : n_(Intern(value)) {}
  Interned(const Interned& o) noexcept : n_(o.n_) { intern_internal::Acquire(n_); }
  Interned(Interned&& o) noexcept : n_(std::exchange(o.n_, nullptr)) {}
  Interned& operator=(const Interned& o) noexcept {
    Interned(o).swap(*this);
    return *this;
  }
  Interned& operator=(Interned&& o) noexcept {
    Interned(std::move(o)).swap(*this);
    return *this;
  }
  ~Interned() { intern_internal::Release(n_); }
  void swap(Interned& o) noexcept { std::swap(n_, o.n_); }

  const T& operator*() const { return n_ ? n_->value : Empty(); }
  const T* operator->() const { return &**this; }
  friend bool operator==(const Interned& a, const Interned& b) { return a.n_ == b.n_; }

  // How many distinct values are held now (for tests and the memory probes).
  static size_t LiveCount();
  // Marks the value as held by the process for good: event buffers do not count it.
  void MakeImmortal() const;

  // The value's node, for an event buffer's list of the values its events hold (nullptr for
  // T{}): the events hold them uncounted, the list counts each once (pin_history.cc).
  const intern_internal::Node* node_for_block() const { return n_; }

 private:
  static const T& Empty();
  static const intern_internal::NodeOf<T>* Intern(const T& value);
  const intern_internal::NodeOf<T>* n_ = nullptr;
};

// The fields that make a session's model selection and credential pin, as one value: what a
// history event records and what a scoped pin or /model undo restores.
struct PinSelection {
  std::optional<std::string> provider;          // providerOverride
  std::optional<std::string> model;             // modelOverride
  std::optional<std::string> model_source;      // modelOverrideSource
  std::optional<std::string> route_resolution;  // modelOverrideRouteResolution
  std::optional<std::string> profile;           // authProfileOverride
  std::optional<std::string> profile_source;    // authProfileOverrideSource
  friend bool operator==(const PinSelection&, const PinSelection&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const PinSelection& s) {
    return H::combine(std::move(h), s.provider, s.model, s.model_source, s.route_resolution, s.profile,
                      s.profile_source);
  }
};

// A scoped pin (`/model <ref> --once | --for <duration> | --turns <n>`): the session runs on the
// pinned selection until the scope runs out, then returns to `restore`.
struct PinScope {
  enum class Kind : uint8_t { kOnce, kTurns, kFor };
  Kind kind = Kind::kOnce;
  int turns_left = 0;    // kOnce, kTurns: routed messages left on the pin
  int64_t set_at_ms = 0;
  int64_t until_ms = 0;  // kFor: when it ends
  Interned<PinSelection> restore;  // the selection the session had before the scoped pin
  friend bool operator==(const PinScope&, const PinScope&) = default;
};

// One change of a session's model, provider or credential pin. 40 bytes. A copy holds its
// values; the events of a shared event buffer hold theirs uncounted (copied as pointers), and
// the buffer counts each distinct value once (pin_history.cc).
struct PinEvent {
  int64_t at_ms = 0;
  // Who changed it: a PinSource's name (pin_source.h: "user", "reset", "auto", ...), as stored.
  Interned<std::string> source;
  Interned<PinSelection> from, to;
  Interned<std::string> scope;  // the scoped pin this change set up ("--once", "--for 2h", "--turns 3"), or ""
  friend bool operator==(const PinEvent&, const PinEvent&) = default;
};

// A session's pin history, oldest first, at most kCap events: a view of the events stored in
// the session's ModelpinSessionData block or in the event buffer it shares.
class PinHistory {
 public:
  static constexpr size_t kCap = 50;
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const PinEvent& back() const { return data_[size_ - 1]; }
  const PinEvent& front() const { return data_[0]; }
  const PinEvent& operator[](size_t i) const { return data_[i]; }
  const PinEvent* begin() const { return data_; }
  const PinEvent* end() const { return data_ + size_; }
  friend bool operator==(const PinHistory& a, const PinHistory& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  friend class ModelpinData;
  const PinEvent* data_ = nullptr;
  size_t size_ = 0;
};

// What modelpin keeps on a session beyond OpenClaw's fields. Stored under the session JSON's
// "modelpin" key ({"pinScope": {...}, "history": [...]}), on every backend; never printed with
// the oracle's fields. Lives in a block that ModelpinData owns, with its events or a window of a
// shared event buffer (ModelpinSessionData::kCountedEvents).
struct ModelpinSessionData {
  const PinScope* scope = nullptr;  // modelpin.pinScope, nullptr when there is none
  PinHistory history;               // modelpin.history: oldest first, at most kHistoryCap
  static constexpr size_t kHistoryCap = PinHistory::kCap;
  // The most events a shared event buffer holds (pin_history.cc): the values of up to this many
  // of a session's latest events stay alive, the oldest beyond kHistoryCap until the buffer is
  // replaced by a fresh one with the last kHistoryCap.
  static constexpr size_t kBufferEvents = 80;
  bool empty() const { return !scope && history.empty(); }
  friend bool operator==(const ModelpinSessionData& a, const ModelpinSessionData& b) {
    return (a.scope ? b.scope && *a.scope == *b.scope : !b.scope) && a.history == b.history;
  }

 private:
  friend class ModelpinData;
  mutable std::atomic<uint32_t> refs_{1};
  // A history of at most kCountedEvents events is kept in the block, each event counting its
  // values; a longer one is a window of an append-only event buffer that blocks share, which
  // counts each distinct value once (pin_history.cc: appending at the buffer's end copies no
  // event).
  static constexpr size_t kCountedEvents = 4;
  uint32_t nodes_n_ = 0;  // unused now (a list's size once); kept for the layout
};

struct PinEventBuffer;  // pin_history.cc: the events of longer histories, shared by their blocks

// A copy-on-write handle to a session's modelpin data: copying a session (every turn does) costs
// a reference count, not a copy of the history. Compared by value. The changes make a private
// copy first; a change that leaves nothing makes the handle empty.
class ModelpinData {
 public:
  ModelpinData() = default;
  ModelpinData(const ModelpinData& o) : p_(o.p_) {
    if (p_) p_->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  ModelpinData(ModelpinData&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  // Assigning the block a session already holds (a store unpacking the session it packed last
  // turn) touches no count.
  ModelpinData& operator=(const ModelpinData& o) noexcept {
    if (p_ != o.p_) ModelpinData(o).swap(*this);
    return *this;
  }
  ModelpinData& operator=(ModelpinData&& o) noexcept {
    ModelpinData(std::move(o)).swap(*this);
    return *this;
  }
  ~ModelpinData() { Release(p_); }

  const ModelpinSessionData* get() const { return p_; }
  const ModelpinSessionData* operator->() const { return p_; }
  const ModelpinSessionData& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  bool empty() const { return !p_ || p_->empty(); }
  void reset() { ModelpinData().swap(*this); }
  void swap(ModelpinData& o) noexcept { std::swap(p_, o.p_); }

  // Sets or clears (nullopt) the scoped pin.
  void SetScope(const std::optional<PinScope>& scope);
  // Adds an event (or `n` events, oldest first), forgetting the oldest beyond kHistoryCap.
  void Append(const PinEvent& event);
  void AppendAll(const PinEvent* events, size_t n);
  // Counts a routed message against a turns scope (kOnce, kTurns); returns the turns left.
  int CountTurn();

  friend bool operator==(const ModelpinData& a, const ModelpinData& b) {
    if (a.p_ == b.p_) return true;
    return a.empty() && b.empty() ? true : (a.p_ && b.p_ && *a.p_ == *b.p_);
  }

 private:
  // A block holding `scope`, the last `keep` events of `old` (nullptr: none), then the `n` events
  // of `added`.
  static ModelpinSessionData* Make(const PinScope* scope, const ModelpinSessionData* old, size_t keep,
                                   const PinEvent* added, size_t n);
  static void Release(ModelpinSessionData* p);
  // Make's part (pin_history.cc): a block for `scope` and a window of `size` events at `events`
  // in `buffer` (whose reference it takes over), or copied into the block with the `more_n`
  // events of `more` after them (buffer nullptr).
  static ModelpinSessionData* NewBlock(const PinScope* scope, PinEventBuffer* buffer, const PinEvent* events,
                                       size_t size, const PinEvent* more = nullptr, size_t more_n = 0);
  ModelpinSessionData* p_ = nullptr;
};

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
  // modelpin's own: scoped pin, pin history, a pending strict-mode notice ("modelpin" in JSON).
  ModelpinData modelpin;

  bool empty() const {
    return !provider_override && !model_override && !model_override_source && !model_override_route_resolution &&
           !auth_profile_override && !auth_profile_override_source && !auth_profile_override_compaction_count &&
           !live_model_switch_pending && !agent_runtime_override && !thinking_level && plugin_state.empty() &&
           modelpin.empty();
  }
  // The model/provider/credential pin fields, and setting them back (other fields untouched;
  // authProfileOverrideCompactionCount follows the profile: 0 for an auto pin, unset otherwise).
  PinSelection Selection() const;
  void SetSelection(const PinSelection& sel);
  // Whether the selection fields of `other` are the same as this state's (no copies).
  bool SameSelection(const SessionState& other) const;
  // Ends a scoped pin: back to its restore selection, recorded as `source` (PinSource::kExpiry).
  void EndPinScope(int64_t at_ms, PinSource source);
  // Appends a history event `from` -> the current selection (nothing when they are equal),
  // dropping the oldest beyond kHistoryCap.
  void RecordPinChange(int64_t at_ms, PinSource source, const PinSelection& from, std::string scope = "");
  // The same, from the selection fields of `before` (no copy of them).
  void RecordPinChange(int64_t at_ms, PinSource source, const SessionState& before, std::string scope = "");
  // The fields OpenClaw's oracle prints (all but thinkingLevel) as a compact JSON object with
  // sorted keys: {"authProfileOverride":"anthropic:work",...}.
  std::string OracleJson() const;
  // Every field, for storage: OpenClaw's, then thinkingLevel, "plugins" and "modelpin".
  std::string StorageJson() const;
  // The "modelpin" object alone ("" when there is none), and parsing one back. Stored, each
  // distinct selection is listed once under "selections" and events name it by index;
  // `expanded` writes every event's selections inline instead (for people and tools).
  std::string ModelpinJson(bool expanded = false) const;
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

// "default" or "anthropic/claude-sonnet-4-5", then ", anthropic:work (user)" when a profile is
// pinned: how history lines, /model undo and the CLI show a selection.
std::string DescribeSelection(const PinSelection& sel);
// One history line: "2026-12-01 10:00 UTC user: default -> anthropic/claude-sonnet-4-5 (--once)".
std::string DescribePinEvent(const PinEvent& e);
// A time as history shows it: "2026-12-01 10:00 UTC".
std::string HistoryTime(int64_t ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_SESSION_STATE_H_
