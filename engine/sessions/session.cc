#include "engine/sessions/session.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "engine/sessions/last_entry.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {
namespace {

// sqlite3_exec, retried while SQLite reports the store busy, for up to kBusyWait. Returns the
// error message, or "" on success.
constexpr auto kBusyWait = std::chrono::seconds(10);
std::string ExecPatiently(sqlite3* db, const char* sql, sqlite3_callback row, void* arg) {
  const auto deadline = std::chrono::steady_clock::now() + kBusyWait;
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, row, arg, &err);
    std::string msg = rc == SQLITE_OK ? "" : err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline) return msg;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20'000));
  }
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }

void WriteSelection(JsonWriter& w, const PinSelection& sel) {
  w.StartObject();
  auto field = [&](const char* name, const std::optional<std::string>& v) {
    if (!v) return;
    w.Key(name);
    WriteString(w, *v);
  };
  field("provider", sel.provider);
  field("model", sel.model);
  field("modelSource", sel.model_source);
  field("routeResolution", sel.route_resolution);
  field("profile", sel.profile);
  field("profileSource", sel.profile_source);
  w.EndObject();
}

const char* ScopeKindName(PinScope::Kind k) {
  switch (k) {
    case PinScope::Kind::kOnce: return "once";
    case PinScope::Kind::kTurns: return "turns";
    case PinScope::Kind::kFor: return "for";
  }
  return "once";
}

// The "modelpin" object: {"pinScope": {...}, "history": [...], "notice": "..."}.
// `expanded`: every event with its selections inline (for people and tools), not by index.
void WriteModelpin(JsonWriter& w, const ModelpinSessionData& m, bool expanded) {
  w.StartObject();
  if (m.scope) {
    w.Key("pinScope");
    w.StartObject();
    w.Key("kind");
    w.String(ScopeKindName(m.scope->kind));
    w.Key("setAt");
    w.Int64(m.scope->set_at_ms);
    if (m.scope->kind == PinScope::Kind::kFor) {
      w.Key("until");
      w.Int64(m.scope->until_ms);
    } else {
      w.Key("turnsLeft");
      w.Int(m.scope->turns_left);
    }
    w.Key("restore");
    WriteSelection(w, *m.scope->restore);
    w.EndObject();
  }
  if (!m.history.empty()) {
    // Each distinct selection once, in "selections"; events name them by index. A session's
    // history goes back and forth between a few selections, so this keeps a 50-event history
    // near 3 KB instead of 15 (every pin rewrites it on SQLite and Redis).
    std::vector<Interned<PinSelection>> table;
    std::vector<std::pair<int, int>> ids;  // each event's (from, to) in `table`
    auto index = [&](Interned<PinSelection> sel) {
      auto it = std::find(table.begin(), table.end(), sel);
      if (it != table.end()) return static_cast<int>(it - table.begin());
      table.push_back(sel);
      return static_cast<int>(table.size() - 1);
    };
    if (!expanded) {
      ids.reserve(m.history.size());
      for (const PinEvent& e : m.history) {
        const int from = index(e.from);  // first seen, first listed: `from` before `to`
        ids.emplace_back(from, index(e.to));
      }
      w.Key("selections");
      w.StartArray();
      for (const auto& sel : table) WriteSelection(w, *sel);
      w.EndArray();
    }
    w.Key("history");
    w.StartArray();
    for (size_t i = 0; i < m.history.size(); ++i) {
      const PinEvent& e = m.history[i];
      if (!expanded) {  // stored: [at, source, from, to(, scope)], selections by index
        w.StartArray();
        w.Int64(e.at_ms);
        WriteString(w, *e.source);
        w.Int(ids[i].first);
        w.Int(ids[i].second);
        if (!e.scope->empty()) WriteString(w, *e.scope);
        w.EndArray();
        continue;
      }
      w.StartObject();
      w.Key("at");
      w.Int64(e.at_ms);
      w.Key("source");
      WriteString(w, *e.source);
      w.Key("from");
      WriteSelection(w, *e.from);
      w.Key("to");
      WriteSelection(w, *e.to);
      if (!e.scope->empty()) {
        w.Key("scope");
        WriteString(w, *e.scope);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

std::string Serialize(const SessionState& s, bool include_private) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  auto emit = [&](const char* name, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    w.Key(name);
    if constexpr (std::is_same_v<T, std::string>) w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    else if constexpr (std::is_same_v<T, bool>) w.Bool(value);
    else w.Int(value);
  };
  VisitOracleFields(s, emit);
  if (include_private && s.thinking_level) emit("thinkingLevel", *s.thinking_level);
  if (include_private && !s.plugin_state.empty()) {
    w.Key("plugins");
    w.StartObject();
    for (const auto& [k, v] : s.plugin_state) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
  }
  if (include_private && !s.modelpin.empty()) {
    w.Key("modelpin");
    WriteModelpin(w, *s.modelpin, false);
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// Sets `out` to the string member `name` of object `v`; a missing or non-string member leaves it.
void ReadString(const rapidjson::Value& v, const char* name, std::optional<std::string>& out) {
  auto it = v.FindMember(name);
  if (it != v.MemberEnd() && it->value.IsString()) out = std::string(it->value.GetString(), it->value.GetStringLength());
}

PinSelection ReadSelection(const rapidjson::Value& v) {
  PinSelection sel;
  if (!v.IsObject()) return sel;
  auto str = [&](const char* name, std::optional<std::string>& out) { ReadString(v, name, out); };
  str("provider", sel.provider);
  str("model", sel.model);
  str("modelSource", sel.model_source);
  str("routeResolution", sel.route_resolution);
  str("profile", sel.profile);
  str("profileSource", sel.profile_source);
  return sel;
}

// Reads the "modelpin" object; members of the wrong type are skipped (a newer modelpin may add
// its own), as OpenClaw's own fields are.
ModelpinData ReadModelpin(const rapidjson::Value& v) {
  ModelpinData m;
  if (auto it = v.FindMember("pinScope"); it != v.MemberEnd() && it->value.IsObject()) {
    const auto& o = it->value;
    PinScope sc;
    auto kind = o.FindMember("kind");
    std::string k = kind != o.MemberEnd() && kind->value.IsString() ? kind->value.GetString() : "";
    bool ok = true;
    if (k == "once") sc.kind = PinScope::Kind::kOnce;
    else if (k == "turns") sc.kind = PinScope::Kind::kTurns;
    else if (k == "for") sc.kind = PinScope::Kind::kFor;
    else ok = false;
    if (auto x = o.FindMember("setAt"); x != o.MemberEnd() && x->value.IsInt64()) sc.set_at_ms = x->value.GetInt64();
    if (auto x = o.FindMember("until"); x != o.MemberEnd() && x->value.IsInt64()) sc.until_ms = x->value.GetInt64();
    if (auto x = o.FindMember("turnsLeft"); x != o.MemberEnd() && x->value.IsInt()) sc.turns_left = x->value.GetInt();
    if (auto x = o.FindMember("restore"); x != o.MemberEnd()) sc.restore = Interned(ReadSelection(x->value));
    if (ok) m.SetScope(sc);
  }
  // "from"/"to" index "selections" (older stores wrote the selection objects inline).
  std::vector<Interned<PinSelection>> table;
  if (auto it = v.FindMember("selections"); it != v.MemberEnd() && it->value.IsArray())
    for (const auto& sel : it->value.GetArray()) table.push_back(Interned(ReadSelection(sel)));
  auto selection = [&](const rapidjson::Value& x) {
    if (x.IsObject()) return Interned(ReadSelection(x));
    if (x.IsUint() && x.GetUint() < table.size()) return table[x.GetUint()];
    return Interned<PinSelection>();
  };
  std::vector<PinEvent> events;
  auto name_of = [](const rapidjson::Value& x, Interned<std::string>& out) {
    if (x.IsString()) out = Interned(std::string(x.GetString(), x.GetStringLength()));
  };
  if (auto it = v.FindMember("history"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& e : it->value.GetArray()) {
      PinEvent ev;
      if (e.IsArray() && e.Size() >= 4) {  // [at, source, from, to(, scope)]
        if (e[0].IsInt64()) ev.at_ms = e[0].GetInt64();
        name_of(e[1], ev.source);
        ev.from = selection(e[2]);
        ev.to = selection(e[3]);
        if (e.Size() > 4) name_of(e[4], ev.scope);
        events.push_back(ev);
        continue;
      }
      if (!e.IsObject()) continue;
      if (auto x = e.FindMember("at"); x != e.MemberEnd() && x->value.IsInt64()) ev.at_ms = x->value.GetInt64();
      auto name = [&](const char* key, Interned<std::string>& out) {
        if (auto x = e.FindMember(key); x != e.MemberEnd()) name_of(x->value, out);
      };
      name("source", ev.source);
      if (auto x = e.FindMember("from"); x != e.MemberEnd()) ev.from = selection(x->value);
      if (auto x = e.FindMember("to"); x != e.MemberEnd()) ev.to = selection(x->value);
      name("scope", ev.scope);
      events.push_back(ev);
    }
  }
  m.AppendAll(events.data(), events.size());  // the oldest beyond the cap are dropped
  return m;
}

}  // namespace

std::string SessionState::OracleJson() const { return Serialize(*this, false); }
std::string SessionState::StorageJson() const { return Serialize(*this, true); }

std::string SessionState::ModelpinJson(bool expanded) const {
  if (modelpin.empty()) return "";
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  WriteModelpin(w, *modelpin, expanded);
  return std::string(sb.GetString(), sb.GetSize());
}

PinSelection SessionState::Selection() const {
  return {provider_override, model_override, model_override_source, model_override_route_resolution,
          auth_profile_override, auth_profile_override_source};
}

void SessionState::SetSelection(const PinSelection& sel) {
  provider_override = sel.provider;
  model_override = sel.model;
  model_override_source = sel.model_source;
  model_override_route_resolution = sel.route_resolution;
  if (auth_profile_override != sel.profile || auth_profile_override_source != sel.profile_source) {
    auth_profile_override = sel.profile;
    auth_profile_override_source = sel.profile_source;
    auth_profile_override_compaction_count.reset();
    if (sel.profile && sel.profile_source.value_or("") == "auto") auth_profile_override_compaction_count = 0;
  }
}

bool SessionState::SameSelection(const SessionState& o) const {
  return provider_override == o.provider_override && model_override == o.model_override &&
         model_override_source == o.model_override_source &&
         model_override_route_resolution == o.model_override_route_resolution &&
         auth_profile_override == o.auth_profile_override &&
         auth_profile_override_source == o.auth_profile_override_source;
}

// ---- interned values, modelpin data ----

namespace {
// The live values of one type, found by value (heterogeneous lookup) or by node.
template <typename T>
struct InternTable {
  using Node = intern_internal::NodeOf<T>;
  struct Hash {
    using is_transparent = void;
    size_t operator()(const Node* n) const { return n->hash; }
    size_t operator()(const T& v) const { return absl::Hash<T>{}(v); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const Node* a, const Node* b) const { return a == b; }  // values are distinct
    bool operator()(const Node* a, const T& b) const { return a->value == b; }
    bool operator()(const T& a, const Node* b) const { return a == b->value; }
  };
  std::mutex mu;
  absl::flat_hash_set<Node*, Hash, Eq> values;

  static InternTable& Get() {
    static auto* const table = new InternTable();  // never destroyed: values may outlive statics
    return *table;
  }
  // The last holder of `n` lets go: under the lock, so that no lookup hands it out meanwhile.
  static void DropLast(const intern_internal::Node* n) {
    InternTable& t = Get();
    auto* node = static_cast<Node*>(const_cast<intern_internal::Node*>(n));
    {
      std::lock_guard<std::mutex> lock(t.mu);
      if (n->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;  // a lookup took it meanwhile
      t.values.erase(node);
    }
    delete node;
  }
};
}  // namespace

template <typename T>
const T& Interned<T>::Empty() {
  static const T* const empty = new T();  // never destroyed: events may outlive static destruction
  return *empty;
}

template <typename T>
const intern_internal::NodeOf<T>* Interned<T>::Intern(const T& value) {
  if (value == T{}) return nullptr;
  InternTable<T>& t = InternTable<T>::Get();
  std::lock_guard<std::mutex> lock(t.mu);
  if (auto it = t.values.find(value); it != t.values.end()) {
    (*it)->refs.fetch_add(1, std::memory_order_relaxed);
    return *it;
  }
  auto* n = new intern_internal::NodeOf<T>(value, absl::Hash<T>{}(value));
  n->drop_last = &InternTable<T>::DropLast;
  t.values.insert(n);
  return n;
}

template <typename T>
size_t Interned<T>::LiveCount() {
  InternTable<T>& t = InternTable<T>::Get();
  std::lock_guard<std::mutex> lock(t.mu);
  return t.values.size();
}

template <typename T>
void Interned<T>::MakeImmortal() const {
  if (!n_ || n_->immortal.load(std::memory_order_relaxed)) return;
  intern_internal::Acquire(n_);  // the process's own holder, never released
  n_->immortal.store(true, std::memory_order_relaxed);
}

template class Interned<std::string>;
template class Interned<PinSelection>;

static_assert(sizeof(PinEvent) == 40, "PinEvent is a handful of interned pointers");
static_assert(std::is_aggregate_v<PinEvent> && std::is_standard_layout_v<PinEvent> &&
                  sizeof(Interned<std::string>) == sizeof(void*) && sizeof(Interned<PinSelection>) == sizeof(void*),
              "a listed block copies its events' bytes (ModelpinData::Make)");

// A block: the header, then `events` events, then the scope when there is one, then (more than
// kCountedEvents events) the list of the interned values its events use, each counted once here
// while the events hold them as uncounted pointers, and after it each value's number of uses.
namespace {
using intern_internal::Node;
const Node** NodeList(const ModelpinSessionData* m, const PinEvent* events_end) {
  const char* tail = reinterpret_cast<const char*>(events_end) + (m->scope ? sizeof(PinScope) : 0);
  return reinterpret_cast<const Node**>(const_cast<char*>(tail));
}
// A field of a block's events uses each value at most 4 x kHistoryCap times: one byte.
static_assert(4 * ModelpinSessionData::kHistoryCap < 256);

// The distinct values a block's events use, with their number of uses, while a block is made.
class NodeUses {
 public:
  explicit NodeUses(size_t bound) {
    if (bound > small_.size()) {
      large_.resize(bound);
      large_uses_.resize(bound);
    }
  }
  void Add(const Node* x) {
    if (!x || x->immortal.load(std::memory_order_relaxed)) return;
    for (size_t i = 0; i < k_; ++i)
      if (nodes()[i] == x) {
        ++uses()[i];
        return;
      }
    nodes()[k_] = x;
    uses()[k_++] = 1;
  }
  void Drop(const Node* x) {  // a value not listed (none, immortal) is skipped
    if (!x) return;
    for (size_t i = 0; i < k_; ++i)
      if (nodes()[i] == x) {
        if (--uses()[i] == 0) {
          --k_;
          nodes()[i] = nodes()[k_];
          uses()[i] = uses()[k_];
        }
        return;
      }
  }
  void AddEvent(const PinEvent& e) {
    Add(e.source.node_for_block());
    Add(e.from.node_for_block());
    Add(e.to.node_for_block());
    Add(e.scope.node_for_block());
  }
  void DropEvent(const PinEvent& e) {
    Drop(e.source.node_for_block());
    Drop(e.from.node_for_block());
    Drop(e.to.node_for_block());
    Drop(e.scope.node_for_block());
  }
  void CopyFrom(const Node* const* nodes, const uint8_t* uses, size_t k) {
    std::copy(nodes, nodes + k, this->nodes());
    std::copy(uses, uses + k, this->uses());
    k_ = k;
  }
  size_t size() const { return k_; }
  const Node** nodes() { return large_.empty() ? small_.data() : large_.data(); }
  uint8_t* uses() { return large_uses_.empty() ? small_uses_.data() : large_uses_.data(); }

 private:
  std::array<const Node*, 64> small_;
  std::array<uint8_t, 64> small_uses_;
  std::vector<const Node*> large_;
  std::vector<uint8_t> large_uses_;
  size_t k_ = 0;
};
}  // namespace

ModelpinSessionData* ModelpinData::Make(const PinScope* scope, const ModelpinSessionData* old, size_t keep,
                                        const PinEvent* added, size_t n) {
  const size_t events = keep + n;
  const size_t had = old ? old->history.size() : 0;
  const PinEvent* kept = keep > 0 ? old->history.end() - keep : nullptr;
  const bool listed = events > ModelpinSessionData::kCountedEvents;
  const bool old_listed = kept && had > ModelpinSessionData::kCountedEvents;
  NodeUses list(!listed ? 0 : old_listed ? old->nodes_n_ + 4 * n : 4 * events);
  if (listed) {
    if (old_listed) {  // the old list, less the dropped events' uses
      const Node** from = NodeList(old, old->history.end());
      list.CopyFrom(from, reinterpret_cast<const uint8_t*>(from + old->nodes_n_), old->nodes_n_);
      for (const PinEvent* e = old->history.begin(); e != kept; ++e) list.DropEvent(*e);
    } else {
      for (size_t i = 0; i < keep; ++i) list.AddEvent(kept[i]);
    }
    for (size_t i = 0; i < n; ++i) list.AddEvent(added[i]);
  }
  const size_t k = list.size();

  const size_t bytes = sizeof(ModelpinSessionData) + events * sizeof(PinEvent) + (scope ? sizeof(PinScope) : 0) +
                       k * (sizeof(const Node*) + 1);
  void* mem = ::operator new(bytes);
  auto* m = new (mem) ModelpinSessionData();
  auto* ev = reinterpret_cast<PinEvent*>(m + 1);
  using S = Interned<std::string>;
  using P = Interned<PinSelection>;
  if (listed) {
    // The list counts the values: the events hold them uncounted, which is their bytes copied
    // (an uncounted Interned is its pointer; PinEvent is an aggregate of them and a time, an
    // implicit-lifetime type, so the copy creates the events). One memcpy for the kept events
    // instead of 49 constructions: this copy is most of a pin's cost on a full history.
    if (keep > 0) std::memcpy(static_cast<void*>(ev), static_cast<const void*>(kept), keep * sizeof(PinEvent));
    for (size_t i = 0; i < n; ++i)
      new (ev + keep + i) PinEvent{added[i].at_ms, S(added[i].source, S::Borrow{}), P(added[i].from, P::Borrow{}),
                                   P(added[i].to, P::Borrow{}), S(added[i].scope, S::Borrow{})};
  } else {  // each event counts its values
    for (size_t i = 0; i < keep; ++i) new (ev + i) PinEvent(kept[i]);
    for (size_t i = 0; i < n; ++i) new (ev + keep + i) PinEvent(added[i]);
  }
  m->history.data_ = ev;
  m->history.size_ = events;
  if (scope) m->scope = new (ev + events) PinScope(*scope);
  const Node** nodes = NodeList(m, ev + events);
  for (size_t i = 0; i < k; ++i) {
    intern_internal::Acquire(list.nodes()[i]);
    nodes[i] = list.nodes()[i];
  }
  std::copy(list.uses(), list.uses() + k, reinterpret_cast<uint8_t*>(nodes + k));
  m->nodes_n_ = static_cast<uint32_t>(k);
  return m;
}

void ModelpinData::Release(ModelpinSessionData* p) {
  if (p && p->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    PinEvent* ev = const_cast<PinEvent*>(p->history.begin());
    const size_t events = p->history.size();
    if (events > ModelpinSessionData::kCountedEvents) {
      // The events' pointers are not counted (the list holds their values): they are left
      // without running their destructors.
      const Node** nodes = NodeList(p, ev + events);
      for (uint32_t i = 0; i < p->nodes_n_; ++i) intern_internal::Release(nodes[i]);
    } else {
      for (size_t i = 0; i < events; ++i) ev[i].~PinEvent();
    }
    if (p->scope) p->scope->~PinScope();
    p->~ModelpinSessionData();
    ::operator delete(static_cast<void*>(p));
  }
}

void ModelpinData::SetScope(const std::optional<PinScope>& scope) {
  if (!scope && (!p_ || !p_->scope)) return;
  const size_t n = p_ ? p_->history.size() : 0;
  ModelpinData fresh;
  if (scope || n > 0) fresh.p_ = Make(scope ? &*scope : nullptr, p_, n, nullptr, 0);
  swap(fresh);
}

void ModelpinData::AppendAll(const PinEvent* events, size_t n) {
  if (n == 0) return;
  if (n >= ModelpinSessionData::kHistoryCap) {
    events += n - ModelpinSessionData::kHistoryCap;
    n = ModelpinSessionData::kHistoryCap;
  }
  const size_t had = p_ ? p_->history.size() : 0;
  const size_t keep = std::min(had, ModelpinSessionData::kHistoryCap - n);
  ModelpinData fresh;
  fresh.p_ = Make(p_ ? p_->scope : nullptr, p_, keep, events, n);
  swap(fresh);
}

void ModelpinData::Append(const PinEvent& event) { AppendAll(&event, 1); }

int ModelpinData::CountTurn() {
  if (!p_ || !p_->scope) return 0;
  if (p_->refs_.load(std::memory_order_acquire) != 1) {  // shared: count on a private copy
    ModelpinData fresh;
    fresh.p_ = Make(p_->scope, p_, p_->history.size(), nullptr, 0);
    swap(fresh);
  }
  return --const_cast<PinScope*>(p_->scope)->turns_left;
}

void SessionState::EndPinScope(int64_t at_ms, PinSource source) {
  if (!modelpin || !modelpin->scope) return;
  PinSelection from = Selection();
  const Interned<PinSelection> restore = modelpin->scope->restore;
  modelpin.SetScope(std::nullopt);
  SetSelection(*restore);
  if (!(Selection() == from)) live_model_switch_pending = true;
  RecordPinChange(at_ms, source, from);
}

namespace {

// Whether `s`'s selection fields equal `sel`, compared in place.
bool HasSelection(const SessionState& s, const PinSelection& sel) {
  return s.provider_override == sel.provider && s.model_override == sel.model &&
         s.model_override_source == sel.model_source && s.model_override_route_resolution == sel.route_resolution &&
         s.auth_profile_override == sel.profile && s.auth_profile_override_source == sel.profile_source;
}

// The interned selection of `s`. A session's pins go back and forth between a few selections, so
// one of its latest events usually holds it already: found by comparing fields, without copying
// six strings and hashing them under the intern table's lock.
Interned<PinSelection> SelectionOf(const SessionState& s, const ModelpinData& history) {
  if (history) {
    const PinHistory& h = history->history;
    for (size_t i = h.size(), seen = 0; i > 0 && seen < 4; --i, ++seen) {
      if (HasSelection(s, *h[i - 1].to)) return h[i - 1].to;
      if (HasSelection(s, *h[i - 1].from)) return h[i - 1].from;
    }
  }
  return Interned(s.Selection());
}

// The interned history source: each name is interned once.
Interned<std::string> SourceName(PinSource source) {
  static const std::array<Interned<std::string>, kPinSourceNames.size()> known = [] {
    std::array<Interned<std::string>, kPinSourceNames.size()> k;
    for (size_t i = 0; i < k.size(); ++i) {
      k[i] = Interned(std::string(kPinSourceNames[i].second));
      k[i].MakeImmortal();  // in nearly every history: blocks need not count them
    }
    return k;
  }();
  return known[static_cast<size_t>(source)];
}

}  // namespace

void SessionState::RecordPinChange(int64_t at_ms, PinSource source, const PinSelection& from, std::string scope) {
  if (HasSelection(*this, from) && scope.empty()) return;  // a scoped pin of the current selection still counts
  modelpin.Append(PinEvent{at_ms, SourceName(source), Interned(from), SelectionOf(*this, modelpin), Interned(scope)});
}

void SessionState::RecordPinChange(int64_t at_ms, PinSource source, const SessionState& before, std::string scope) {
  if (SameSelection(before) && scope.empty()) return;
  modelpin.Append(PinEvent{at_ms, SourceName(source), SelectionOf(before, modelpin), SelectionOf(*this, modelpin),
                           Interned(scope)});
}

absl::StatusOr<SessionState> SessionState::FromStorageJson(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return absl::DataLossError("session entry is not a JSON object");
  SessionState s;
  auto str = [&](const char* name, std::optional<std::string>& out) { ReadString(d, name, out); };
  str("providerOverride", s.provider_override);
  str("modelOverride", s.model_override);
  str("modelOverrideSource", s.model_override_source);
  str("modelOverrideRouteResolution", s.model_override_route_resolution);
  str("authProfileOverride", s.auth_profile_override);
  str("authProfileOverrideSource", s.auth_profile_override_source);
  str("agentRuntimeOverride", s.agent_runtime_override);
  str("thinkingLevel", s.thinking_level);
  if (auto it = d.FindMember("authProfileOverrideCompactionCount"); it != d.MemberEnd() && it->value.IsInt())
    s.auth_profile_override_compaction_count = it->value.GetInt();
  if (auto it = d.FindMember("plugins"); it != d.MemberEnd() && it->value.IsObject())
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m)
      if (m->value.IsString()) s.plugin_state[m->name.GetString()] = m->value.GetString();
  if (auto it = d.FindMember("liveModelSwitchPending"); it != d.MemberEnd() && it->value.IsBool())
    s.live_model_switch_pending = it->value.GetBool();
  if (auto it = d.FindMember("modelpin"); it != d.MemberEnd() && it->value.IsObject()) {
    ModelpinData m = ReadModelpin(it->value);
    if (!m.empty()) s.modelpin = std::move(m);
  }
  return s;
}

std::string HistoryTime(int64_t ms) {
  std::string t = FormatUtc(ms);  // 2026-12-01T10:00:00Z
  if (t.size() >= 16) return absl::StrCat(t.substr(0, 10), " ", t.substr(11, 5), " UTC");
  return t;
}

std::string DescribeSelection(const PinSelection& sel) {
  std::string out = sel.provider && sel.model ? absl::StrCat(*sel.provider, "/", *sel.model) : "default";
  if (sel.profile) absl::StrAppend(&out, ", ", *sel.profile, " (", sel.profile_source.value_or("user"), ")");
  return out;
}

std::string DescribePinEvent(const PinEvent& e) {
  std::string out = absl::StrCat(HistoryTime(e.at_ms), " ", *e.source, ": ", DescribeSelection(*e.from), " -> ",
                                 DescribeSelection(*e.to));
  if (!e.scope->empty()) absl::StrAppend(&out, " (", *e.scope, ")");
  return out;
}

// Adding a field to SessionState means updating empty(), VisitOracleFields, the storage JSON
// and the memory store's Packed form; this fails the build until the size is updated with them.
static_assert(sizeof(SessionState) == 392, "SessionState changed: update empty(), serialisation and Packed");

absl::StatusOr<SessionState> SessionStore::Get(const std::string& agent, const std::string& key) {
  SessionState s;
  RETURN_IF_ERROR(Load(agent, key, s));
  return s;
}

// ---- memory ----

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
    if (hint != 0 && strings[hint] == *s) return hint;
    return Intern(*s);
  }
  uint32_t Intern(const std::string& s) {
    uint32_t& slot = recent[RecentSlot(s)];
    if (slot == 0 || strings[slot] != s) slot = InternSlow(s);
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
    else if (field) field->assign(strings[id]);
    else field.emplace(strings[id]);
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

// ---- SQLite ----

struct SqliteSessionStore::Impl {
  std::string path;
  bool read_only = false;
  sqlite3* db = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* put = nullptr;         // unconditional: the row's version goes up by one
  sqlite3_stmt* insert_new = nullptr;  // PutIfVersion(0): only when no row exists
  sqlite3_stmt* update_if = nullptr;   // PutIfVersion(v): only while the row holds version v
  sqlite3_stmt* version_of = nullptr;
  sqlite3_stmt* keys = nullptr;
  std::mutex mu;  // one connection, used by one thread at a time
  // Sessions this connection read or wrote, with their row versions, valid while the store's
  // change counter stays the same: an ordinary message on an unchanged session reads no table.
  // Bounded: cleared past kCacheLimit entries.
  static constexpr size_t kCacheLimit = 1 << 16;
  struct Cached {
    SessionState state;
    uint64_t version = 0;  // the row's version column; 0: no row
  };
  absl::node_hash_map<std::string, Cached> cache;  // entries never move
  LastEntry<const Cached> last;                     // the entry the last cached read used
  void ClearCache() {
    last.Forget();
    cache.clear();
  }
  void Drop(const std::string& agent, const std::string& key) {
    last.Forget();
    cache.erase(CacheKey(agent, key));
  }
  // The change counter: 8 bytes of `<path>-changes` that every modelpin writer increments after
  // it commits (pread and pwrite under an flock of the file), and that readers look at through a
  // read-only shared mapping, so looking costs one memory read (PRAGMA data_version costs a read
  // transaction, several us). The file is written (not truncated to size) when it is created, so
  // its bytes have real storage: reading them can never fault, whatever happens to the disk, and
  // only pwrite writes them, which on a full disk fails with an error instead (docs/faults.md).
  // Without the counter (a file that cannot be created, a failed increment) nothing is cached.
  int counter_fd = -1;
  const uint64_t* counter = nullptr;
  uint64_t seen_version = 0;
  std::string key_buf;
  // Group commit (SetGroupCommit): the open transaction, when it began, how many changes it holds,
  // and the first failure since the last Flush (a failed batch is rolled back whole).
  std::chrono::milliseconds group_window{0};
  bool in_txn = false;
  std::chrono::steady_clock::time_point txn_began;
  size_t txn_changes = 0;
  absl::Status group_error;

  absl::Status Begin() {
    if (std::string err = ExecPatiently(db, "BEGIN IMMEDIATE", nullptr, nullptr); !err.empty())
      return absl::UnavailableError(absl::StrCat(path, ": begin a write: ", err));
    in_txn = true;
    txn_began = std::chrono::steady_clock::now();
    txn_changes = 0;
    return absl::OkStatus();
  }
  absl::Status Commit() {
    if (!in_txn) return absl::OkStatus();
    in_txn = false;
    if (std::string err = ExecPatiently(db, "COMMIT", nullptr, nullptr); !err.empty()) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      ClearCache();
      return absl::UnavailableError(absl::StrCat(path, ": commit ", txn_changes, " session changes: ", err));
    }
    Committed();
    return absl::OkStatus();
  }
  // Commits a transaction held past its window; the failure is kept for Flush.
  void CommitIfDue() {
    if (in_txn && (txn_changes >= kGroupCommitMax || std::chrono::steady_clock::now() - txn_began >= group_window))
      if (absl::Status st = Commit(); !st.ok() && group_error.ok()) group_error = st;
  }

  void MapCounter() {
    const std::string file = path + "-changes";
    int fd = read_only ? ::open(file.c_str(), O_RDONLY | O_CLOEXEC)
                       : ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    struct stat st;
    bool ok = ::fstat(fd, &st) == 0;
    if (ok && st.st_size < 8) {
      // Created now (or cut short): its 8 bytes are written, under the lock so that two
      // processes creating it at once do not zero a count one of them already made.
      ok = !read_only && ::flock(fd, LOCK_EX) == 0;
      if (ok) {
        uint64_t zero = 0;
        ok = ::fstat(fd, &st) == 0 && (st.st_size >= 8 || ::pwrite(fd, &zero, 8, 0) == 8);
        ::flock(fd, LOCK_UN);
      }
    }
    void* m = ok ? ::mmap(nullptr, 8, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (m == MAP_FAILED) {
      ::close(fd);
      return;
    }
    counter = static_cast<const uint64_t*>(m);
    counter_fd = fd;
    seen_version = Count();
  }
  uint64_t Count() const { return __atomic_load_n(counter, __ATOMIC_ACQUIRE); }
  // Adds one to the counter; the value before, or nullopt when the file cannot be written.
  std::optional<uint64_t> Bump() {
    if (counter_fd < 0 || read_only || ::flock(counter_fd, LOCK_EX) != 0) return std::nullopt;
    uint64_t v = 0;
    std::optional<uint64_t> before;
    if (::pread(counter_fd, &v, 8, 0) == 8) {
      uint64_t next = v + 1;
      if (::pwrite(counter_fd, &next, 8, 0) == 8) before = v;
    }
    ::flock(counter_fd, LOCK_UN);
    return before;
  }
  void DropCounter() {
    if (counter) ::munmap(const_cast<uint64_t*>(counter), 8);
    if (counter_fd >= 0) ::close(counter_fd);
    counter = nullptr;
    counter_fd = -1;
  }

  const std::string& CacheKey(const std::string& agent, const std::string& key) {
    key_buf.assign(agent);
    key_buf.push_back('\n');
    key_buf.append(key);
    return key_buf;
  }
  // Drops the cache when another connection committed since the last look.
  void Revalidate() {
    if (counter == nullptr) return ClearCache();
    uint64_t v = Count();
    if (v != seen_version) ClearCache();
    seen_version = v;
  }
  // After our own commit: count it, and drop the cache if another writer counted since. A
  // counter that cannot be written any more is given up: other processes would not learn of
  // our commits, and we could not trust it either.
  void Committed() {
    if (counter == nullptr) return ClearCache();
    std::optional<uint64_t> before = Bump();
    if (!before) {
      DropCounter();
      return ClearCache();
    }
    if (*before != seen_version) ClearCache();
    seen_version = *before + 1;
  }
  void Remember(const std::string& agent, const std::string& key, const SessionState& s, uint64_t version) {
    if (cache.size() >= kCacheLimit) ClearCache();
    Cached& c = cache[CacheKey(agent, key)];
    c.state = s;
    c.version = version;
  }

  absl::Status Error(const char* what) const {
    return absl::InternalError(absl::StrCat(path, ": ", what, ": ", db ? sqlite3_errmsg(db) : "cannot open"));
  }
  ~Impl() {
    (void)Commit();  // a caller that needs to know calls Flush() first
    for (sqlite3_stmt* s : {get, put, insert_new, update_if, version_of, keys}) sqlite3_finalize(s);
    DropCounter();
    if (db) sqlite3_close(db);
  }
};

SqliteSessionStore::SqliteSessionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteSessionStore::~SqliteSessionStore() = default;

namespace {

// Schema 1 kept sessions in a WITHOUT ROWID table, where a row over about 1 KB spills into
// overflow pages: a pin with a long history wrote four pages, not one. Schema 2 is a rowid table
// with a unique (agent, session_key) index. One write transaction copies the rows over, so a
// store is migrated whole or not at all, and by one process (the others find schema 2 inside
// their own transaction and leave it).
absl::Status MigrateFromSchema1(sqlite3* db, const std::string& path) {
  auto fail = [&](const std::string& err) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::FailedPreconditionError(absl::StrCat(path, ": migrating the session store to schema ",
                                                      SqliteSessionStore::kSchemaVersion, ": ", err));
  };
  if (std::string err = ExecPatiently(db, "BEGIN IMMEDIATE", nullptr, nullptr); !err.empty()) return fail(err);
  std::string value;
  auto first = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  if (std::string err = ExecPatiently(db, "SELECT value FROM meta WHERE key='schema'", first, &value); !err.empty())
    return fail(err);
  if (value != "1") return sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? absl::OkStatus() : fail("commit");
  const std::string sql = absl::StrCat(
      "CREATE TABLE sessions_v2("
      "  agent TEXT NOT NULL, session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()),"
      "  UNIQUE(agent, session_key));"
      "INSERT INTO sessions_v2(agent, session_key, entry_json, updated_at)"
      "  SELECT agent, session_key, entry_json, updated_at FROM sessions;"
      "DROP TABLE sessions;"
      "ALTER TABLE sessions_v2 RENAME TO sessions;"
      "UPDATE meta SET value='2' WHERE key='schema';"  // then MigrateToSchema3
      "COMMIT;");
  if (std::string err = ExecPatiently(db, sql.c_str(), nullptr, nullptr); !err.empty()) return fail(err);
  return absl::OkStatus();
}

// Whether the folder holding `path` is on a read-only mount.
bool OnReadOnlyMount(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs vfs;
  return ::statvfs(dir.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0;
}

// file:<path>?immutable=1, with the characters a URI gives a meaning escaped.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') absl::StrAppend(&uri, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    else uri.push_back(c);
  }
  return uri + "?immutable=1";
}

// Schema 3 adds the version column (docs/faults.md: every write raises it, PutIfVersion checks
// it). Rows already there start at version 1; "no row" reads as version 0.
absl::Status MigrateToSchema3(sqlite3* db, const std::string& path) {
  auto fail = [&](const std::string& err) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return absl::FailedPreconditionError(absl::StrCat(path, ": migrating the session store to schema ",
                                                      SqliteSessionStore::kSchemaVersion, ": ", err));
  };
  if (std::string err = ExecPatiently(db, "BEGIN IMMEDIATE", nullptr, nullptr); !err.empty()) return fail(err);
  std::string value;
  auto first = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  if (std::string err = ExecPatiently(db, "SELECT value FROM meta WHERE key='schema'", first, &value); !err.empty())
    return fail(err);
  if (value != "2") return sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK ? absl::OkStatus() : fail("commit");
  const std::string sql = absl::StrCat(
      "ALTER TABLE sessions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
      "UPDATE meta SET value='", SqliteSessionStore::kSchemaVersion, "' WHERE key='schema';"
      "COMMIT;");
  if (std::string err = ExecPatiently(db, sql.c_str(), nullptr, nullptr); !err.empty()) return fail(err);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteSessionStore>> SqliteSessionStore::Open(const std::string& path, bool read_only) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->read_only = read_only;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(absl::StrCat(path, ": is a directory, not a session store"));
  if (read_only && ::stat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": no session store yet"));
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  // A store on a read-only mount cannot have the WAL index SQLite reads through: it is read as
  // an immutable file instead (no process can be writing it).
  const bool immutable = read_only && OnReadOnlyMount(path);
  int rc = immutable ? sqlite3_open_v2(ImmutableUri(path).c_str(), &impl->db,
                                       flags | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr)
                     : sqlite3_open_v2(path.c_str(), &impl->db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return absl::UnavailableError(absl::StrCat(path, ": cannot open session store: ", sqlite3_errstr(rc)));
  // Another process may hold the write lock for a moment (two bots, or the CLI): wait, don't fail.
  sqlite3_busy_timeout(impl->db, static_cast<int>(std::chrono::milliseconds(kBusyWait).count()));
  auto exec = [&](const char* sql, sqlite3_callback row = nullptr, void* arg = nullptr) -> absl::Status {
    if (std::string err = ExecPatiently(impl->db, sql, row, arg); !err.empty())
      return absl::FailedPreconditionError(absl::StrCat(path, ": not a usable session store: ", err));
    return absl::OkStatus();
  };
  auto first_column = [](void* out, int, char** values, char**) {
    *static_cast<std::string*>(out) = values[0] ? values[0] : "";
    return 0;
  };
  // The schema version the store holds, 0 when none; a store written by a newer modelpin is
  // refused rather than misread. Checked before anything is changed, and again after setup (a
  // newer modelpin may have created the store meanwhile).
  auto schema_version = [&]() -> absl::StatusOr<int> {
    std::string value;
    if (ExecPatiently(impl->db, "SELECT value FROM meta WHERE key='schema'", first_column, &value).empty() &&
        atoi(value.c_str()) > kSchemaVersion)
      return absl::FailedPreconditionError(absl::StrCat(path, ": session store schema ", value,
                                                        " is newer than this modelpin (", kSchemaVersion, ")"));
    return atoi(value.c_str());
  };
  RETURN_IF_ERROR(schema_version().status());
  // The column that holds a row's version: a store of an older schema opened read-only (it is
  // not migrated) has none, and every row reads as version 1.
  std::string version_column = "version";
  if (read_only) {
    ASSIGN_OR_RETURN(int version, schema_version());
    if (version < kSchemaVersion) version_column = "1";
  } else {
    // Two processes opening a fresh store at once race to convert it to WAL and create the tables.
    // SQLite answers some of those lock requests with SQLITE_BUSY at once, without calling the busy
    // handler (a journal-mode change, a read lock upgraded to a write), so each step is retried for
    // as long as the busy timeout would have waited. The store is converted only when it is not WAL
    // yet, so the usual open takes no write lock at all.
    std::string journal_mode;
    RETURN_IF_ERROR(exec("PRAGMA journal_mode", first_column, &journal_mode));
    if (!absl::EqualsIgnoreCase(journal_mode, "wal")) RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(exec(
        "PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sessions("
        "  agent TEXT NOT NULL, session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
        "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()), version INTEGER NOT NULL DEFAULT 1,"
        "  UNIQUE(agent, session_key));"));
    ASSIGN_OR_RETURN(int version, schema_version());
    if (version == 0) {
      std::string sql = absl::StrCat("INSERT OR IGNORE INTO meta VALUES('schema','", kSchemaVersion, "')");
      RETURN_IF_ERROR(exec(sql.c_str()));
    } else if (version == 1) {
      RETURN_IF_ERROR(MigrateFromSchema1(impl->db, path));
    }
    if (version == 1 || version == 2) RETURN_IF_ERROR(MigrateToSchema3(impl->db, path));
  }
  auto prepare = [&](const char* sql, sqlite3_stmt** st) { return sqlite3_prepare_v2(impl->db, sql, -1, st, nullptr); };
  const std::string get_sql =
      absl::StrCat("SELECT entry_json, ", version_column, " FROM sessions WHERE agent=?1 AND session_key=?2");
  const std::string version_sql =
      absl::StrCat("SELECT ", version_column, " FROM sessions WHERE agent=?1 AND session_key=?2");
  const bool read_ok =
      prepare(get_sql.c_str(), &impl->get) == SQLITE_OK && prepare(version_sql.c_str(), &impl->version_of) == SQLITE_OK &&
      prepare("SELECT session_key FROM sessions WHERE agent=?1 AND entry_json<>'{}' ORDER BY session_key",
              &impl->keys) == SQLITE_OK;
  // A read-only store has no write statements: WriteLocked refuses before it needs one.
  const bool write_ok =
      read_only ||
      (prepare("INSERT INTO sessions(agent, session_key, entry_json, version) VALUES(?1, ?2, ?3, 1) "
               "ON CONFLICT(agent, session_key) DO UPDATE SET entry_json=excluded.entry_json, version=version+1, "
               "updated_at=unixepoch() RETURNING version",
               &impl->put) == SQLITE_OK &&
       prepare("INSERT INTO sessions(agent, session_key, entry_json, version) VALUES(?1, ?2, ?3, 1) "
               "ON CONFLICT(agent, session_key) DO NOTHING RETURNING version",
               &impl->insert_new) == SQLITE_OK &&
       prepare("UPDATE sessions SET entry_json=?3, version=version+1, updated_at=unixepoch() "
               "WHERE agent=?1 AND session_key=?2 AND version=?4 RETURNING version",
               &impl->update_if) == SQLITE_OK);
  if (!read_ok || !write_ok) return impl->Error("prepare");
  impl->MapCounter();
  return std::unique_ptr<SqliteSessionStore>(new SqliteSessionStore(std::move(impl)));
}

absl::Status SqliteSessionStore::LoadLocked(const std::string& agent, const std::string& key, SessionState& into,
                                            uint64_t& version) {
  impl_->CommitIfDue();
  impl_->Revalidate();
  Impl& m = *impl_;
  if (const Impl::Cached* c = m.last.Find(agent, key)) {
    into = c->state;
    version = c->version;
    return absl::OkStatus();
  }
  if (auto it = m.cache.find(m.CacheKey(agent, key)); it != m.cache.end()) {
    const Impl::Cached* c = m.last.Remember(agent, key, &it->second);
    into = c->state;
    version = c->version;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(ReadLocked(agent, key, into, version));
  impl_->Remember(agent, key, into, version);
  return absl::OkStatus();
}

absl::Status SqliteSessionStore::Load(const std::string& agent, const std::string& key, SessionState& into) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  uint64_t version = 0;
  return LoadLocked(agent, key, into, version);
}

absl::Status SqliteSessionStore::LoadVersioned(const std::string& agent, const std::string& key, SessionState& into,
                                               uint64_t& version, Read read) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (read == Read::kFresh) impl_->Drop(agent, key);
  return LoadLocked(agent, key, into, version);
}

absl::Status SqliteSessionStore::ReadLocked(const std::string& agent, const std::string& key, SessionState& into,
                                            uint64_t& version) {
  sqlite3_stmt* st = impl_->get;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    into = SessionState{};
    version = 0;
    return absl::OkStatus();
  }
  if (rc != SQLITE_ROW) {
    absl::Status err = impl_->Error("read session");
    sqlite3_reset(st);
    return err;
  }
  std::string_view json(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                        static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  auto s = SessionState::FromStorageJson(json);
  version = static_cast<uint64_t>(sqlite3_column_int64(st, 1));
  sqlite3_reset(st);
  if (!s.ok())
    return absl::DataLossError(absl::StrCat(impl_->path, ": session ", agent, "/", key, ": ", s.status().message()));
  into = *std::move(s);
  return absl::OkStatus();
}

absl::Status SqliteSessionStore::WriteLocked(sqlite3_stmt* st, const std::string& agent, const std::string& key,
                                             const SessionState& state, const uint64_t* expected) {
  if (impl_->read_only) return absl::FailedPreconditionError(absl::StrCat(impl_->path, ": opened read-only"));
  impl_->CommitIfDue();
  if (impl_->group_window.count() > 0 && !impl_->in_txn) {
    if (absl::Status began = impl_->Begin(); !began.ok()) {
      if (impl_->group_error.ok()) impl_->group_error = began;
      return began;
    }
    impl_->Revalidate();  // what others committed before our write lock
  }
  // An emptied session keeps its row ("{}"), so its version is never reused.
  std::string json = state.empty() ? std::string("{}") : state.StorageJson();
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 3, json.data(), static_cast<int>(json.size()), SQLITE_STATIC);
  if (expected) sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(*expected));
  int rc = sqlite3_step(st);
  const uint64_t version = rc == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(st, 0)) : 0;
  if (rc == SQLITE_ROW) rc = sqlite3_step(st);  // SQLITE_DONE: the statement completes
  if (rc != SQLITE_DONE) {
    absl::Status err = impl_->Error("write session");
    sqlite3_reset(st);
    impl_->ClearCache();
    if (impl_->in_txn) {  // the whole batch goes: Flush reports it, nothing is half-written
      sqlite3_exec(impl_->db, "ROLLBACK", nullptr, nullptr, nullptr);
      impl_->in_txn = false;
      if (impl_->group_error.ok()) impl_->group_error = err;
    }
    return err;
  }
  sqlite3_reset(st);
  if (version == 0) {  // the row had another version: someone else wrote first
    impl_->Drop(agent, key);
    return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
  }
  if (impl_->in_txn) ++impl_->txn_changes;
  else impl_->Committed();
  impl_->Remember(agent, key, state, version);
  return absl::OkStatus();
}

absl::Status SqliteSessionStore::Put(const std::string& agent, const std::string& key, const SessionState& state) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return WriteLocked(impl_->put, agent, key, state, nullptr);
}

absl::Status SqliteSessionStore::PutIfVersion(const std::string& agent, const std::string& key,
                                              const SessionState& state, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (version == 0) return WriteLocked(impl_->insert_new, agent, key, state, nullptr);
  return WriteLocked(impl_->update_if, agent, key, state, &version);
}

absl::Status SqliteSessionStore::Confirm(const std::string& agent, const std::string& key, uint64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->CommitIfDue();
  sqlite3_stmt* st = impl_->version_of;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  sqlite3_bind_text(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st);
  uint64_t now = rc == SQLITE_ROW ? static_cast<uint64_t>(sqlite3_column_int64(st, 0)) : 0;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    absl::Status err = impl_->Error("read session version");
    sqlite3_reset(st);
    return err;
  }
  sqlite3_reset(st);
  if (now == version) return absl::OkStatus();
  impl_->Drop(agent, key);
  return absl::AbortedError(absl::StrCat("session ", key, " changed in another process"));
}

std::chrono::milliseconds SqliteSessionStore::ContentionBudget() const { return kBusyWait; }

void SqliteSessionStore::SetGroupCommit(std::chrono::milliseconds window) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->group_window = window;
  if (window.count() <= 0)
    if (absl::Status st = impl_->Commit(); !st.ok() && impl_->group_error.ok()) impl_->group_error = st;
}

absl::Status SqliteSessionStore::Flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  absl::Status st = impl_->Commit();
  if (!impl_->group_error.ok()) st = std::exchange(impl_->group_error, absl::OkStatus());
  return st;
}

absl::StatusOr<std::vector<std::string>> SqliteSessionStore::Keys(const std::string& agent) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3_stmt* st = impl_->keys;
  sqlite3_reset(st);
  sqlite3_bind_text(st, 1, agent.data(), static_cast<int>(agent.size()), SQLITE_STATIC);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), static_cast<size_t>(sqlite3_column_bytes(st, 0)));
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return impl_->Error("list sessions");
  return out;
}

SqliteSessionStore::Examination SqliteSessionStore::Examine(const std::string& path, int64_t quick_check_limit) {
  Examination x;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return x;
  x.exists = true;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) == 0) {
    x.free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    if (vfs.f_flag & ST_RDONLY) x.read_only = "its filesystem is mounted read-only";
  }
  if (x.read_only.empty() && ::access(path.c_str(), W_OK) != 0)
    x.read_only = absl::StrCat("the file is not writable by this user (", std::strerror(errno), ")");
  if (x.read_only.empty() && ::access(dir.c_str(), W_OK) != 0)
    x.read_only = absl::StrCat("its folder ", dir, " is not writable by this user (", std::strerror(errno), ")");
  auto store = Open(path, /*read_only=*/true);
  if (!store.ok()) {
    x.open_error = std::string(store.status().message());
    return x;
  }
  sqlite3* db = (*store)->impl_->db;
  auto first = [](void* out, int, char** values, char**) {
    auto* v = static_cast<std::vector<std::string>*>(out);
    if (v->size() < 5) v->push_back(values[0] ? values[0] : "");
    return 0;
  };
  {
    std::vector<std::string> schema;
    ExecPatiently(db, "SELECT value FROM meta WHERE key='schema'", first, &schema);
    x.schema = schema.empty() ? 0 : std::atoi(schema.front().c_str());
  }
  if (st.st_size <= quick_check_limit) {
    std::vector<std::string> lines;
    if (std::string err = ExecPatiently(db, "PRAGMA quick_check", first, &lines); !err.empty()) {
      x.quick_check = err;
    } else {
      for (const auto& l : lines) absl::StrAppend(&x.quick_check, x.quick_check.empty() ? "" : "; ", l);
    }
  }
  // Every row parses as a session entry: one that does not is named, the others still count.
  sqlite3_stmt* rows = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT agent, session_key, entry_json FROM sessions", -1, &rows, nullptr) == SQLITE_OK) {
    int rc;
    while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
      ++x.rows;
      auto text = [&](int col) {
        const unsigned char* t = sqlite3_column_text(rows, col);
        return std::string(t ? reinterpret_cast<const char*>(t) : "", static_cast<size_t>(sqlite3_column_bytes(rows, col)));
      };
      auto parsed = SessionState::FromStorageJson(text(2));
      if (parsed.ok()) continue;
      if (++x.bad_row_count <= 20) x.bad_rows.push_back(absl::StrCat(text(0), " ", text(1), ": ", parsed.status().message()));
    }
    if (rc != SQLITE_DONE && x.open_error.empty())
      x.open_error = absl::StrCat(path, ": reading the sessions: ", sqlite3_errmsg(db));
  } else {
    x.open_error = absl::StrCat(path, ": reading the sessions: ", sqlite3_errmsg(db));
  }
  sqlite3_finalize(rows);
  return x;
}

}  // namespace modelpin
