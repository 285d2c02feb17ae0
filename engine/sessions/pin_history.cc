// The interned values sessions share and the copy-on-write pin history block (session_state.h).
#include <modelpin/engine/sessions/session_state.h>

#include <cstring>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace modelpin {

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
      nodes_ = large_.data();
      uses_ = large_uses_.data();
    }
  }
  NodeUses(const NodeUses&) = delete;
  NodeUses& operator=(const NodeUses&) = delete;
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
  const Node** nodes() { return nodes_; }
  uint8_t* uses() { return uses_; }

 private:
  std::array<const Node*, 64> small_;
  std::array<uint8_t, 64> small_uses_;
  std::vector<const Node*> large_;
  std::vector<uint8_t> large_uses_;
  const Node** nodes_ = small_.data();  // small_ or large_
  uint8_t* uses_ = small_uses_.data();
  size_t k_ = 0;
};
}  // namespace

namespace {
// The bytes of a block (Make lays it out; Release gives them back).
size_t BlockBytes(size_t events, bool scope, size_t nodes) {
  return sizeof(ModelpinSessionData) + events * sizeof(PinEvent) + (scope ? sizeof(PinScope) : 0) +
         nodes * (sizeof(const Node*) + 1);
}

// A full history's block is a couple of KiB, past what malloc's per-thread caches keep, and a
// pin replaces it every time: the turn that appends frees the block it copied from. The last
// few such blocks a thread freed wait here, by size rounded to 64 bytes, for the next append of
// the same size (a busy session's history stays one size once full), so that pair costs no trip
// through malloc's bins. At most kSlots blocks of at most kMaxBytes per thread.
//
// The cache itself has no destructor, so it outlives every destructor of its thread: a session
// that a later thread-local destructor lets go (a client's per-thread Outcome, at exit) still
// finds it. A separate reaper, set up with the first block kept, frees the kept blocks when the
// thread ends and closes the cache; a block let go after that goes straight back to malloc.
// (Closing it from the cache's own destructor would not do: a store to an object whose lifetime
// ends is dead, and the compiler may drop it.)
class BlockCache {
 public:
  static constexpr size_t kMinBytes = 1024, kMaxBytes = 4096, kSlots = 4;
  static size_t Rounded(size_t bytes) { return (bytes + 63) & ~size_t{63}; }
  void* Take(size_t bytes) {
    if (bytes < kMinBytes || bytes > kMaxBytes) return ::operator new(bytes);
    const size_t r = Rounded(bytes);
    for (size_t i = 0; i < n_; ++i)
      if (size_[i] == r) {
        void* p = block_[i];
        --n_;
        block_[i] = block_[n_];
        size_[i] = size_[n_];
        return p;
      }
    return ::operator new(r);
  }
  void Give(void* p, size_t bytes);
  // Frees the kept blocks; from now on every block goes back to malloc.
  void Close() {
    for (size_t i = 0; i < n_; ++i) ::operator delete(block_[i]);
    n_ = 0;
    closed_ = true;
  }

 private:
  void* block_[kSlots];
  size_t size_[kSlots];
  size_t n_;
  bool closed_;
  bool reaper_set_;
};
static_assert(std::is_trivially_destructible_v<BlockCache>);
constinit thread_local BlockCache block_cache{};

struct BlockCacheReaper {
  ~BlockCacheReaper() { block_cache.Close(); }
};

void BlockCache::Give(void* p, size_t bytes) {
  if (bytes < kMinBytes || bytes > kMaxBytes || closed_) return ::operator delete(p);
  if (!reaper_set_) {
    reaper_set_ = true;
    static thread_local BlockCacheReaper reaper;  // its destructor runs when the thread ends
    (void)reaper;
  }
  if (n_ == kSlots) {  // the oldest goes
    ::operator delete(block_[0]);
    std::copy(block_ + 1, block_ + kSlots, block_);
    std::copy(size_ + 1, size_ + kSlots, size_);
    --n_;
  }
  block_[n_] = p;
  size_[n_++] = Rounded(bytes);
}
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

  void* mem = block_cache.Take(BlockBytes(events, scope != nullptr, k));
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
    const size_t bytes = BlockBytes(events, p->scope != nullptr, p->nodes_n_);
    if (p->scope) p->scope->~PinScope();
    p->~ModelpinSessionData();
    block_cache.Give(static_cast<void*>(p), bytes);
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

}  // namespace modelpin
