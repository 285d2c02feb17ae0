// The interned values sessions share and the copy-on-write pin history block (session_state.h).
#include <modelpin/engine/sessions/session_state.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include <modelpin/base/recycled_blocks.h>

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
              "an event buffer holds its events' values uncounted (PinEventBuffer)");

// How a session's modelpin data is laid out.
//
// A handle (ModelpinData) points to a block: the ModelpinSessionData header, a hidden tail, then
// the scoped pin when there is one. A history of at most kCountedEvents events lives in the block
// itself, after the tail, each event counting the values it holds. A longer one lives in an event
// buffer that blocks share: the buffer's events are only ever written once, at its tip, so a
// block's history is a window [begin, end) of it that no later write touches. Appending to a
// history whose window ends at its buffer's tip claims the next slot (one compare-and-swap, the
// slot taken by at most one of the blocks that end there) and makes a new block for the longer
// window: no event is copied. Another block ending at the same place (a copy of the session that
// appends too), a full buffer or a history with more events than the window starts a new buffer
// with the window's events. The buffer counts each distinct value its events use once, for as
// long as it lives, so the values of events that left every window (at most kBufferCap events
// per buffer) live until the buffer goes.
struct PinEventBuffer {
  std::atomic<uint32_t> refs{1};  // blocks whose history is in it
  std::atomic<uint32_t> tip{0};   // events written: [0, tip)
  uint32_t cap = 0;
  // The distinct values of events [0, tip), each counted once (immortal ones are not listed).
  // Written only by the block that claimed the tip's slot, before the new block is handed out;
  // read when the last block lets go.
  uint32_t nodes_n = 0, nodes_cap = 0;
  const intern_internal::Node** nodes = nullptr;
  PinEvent* events() { return reinterpret_cast<PinEvent*>(this + 1); }
};

namespace {
using intern_internal::Node;
static_assert(sizeof(PinEventBuffer) % alignof(PinEvent) == 0);

// Events of a full history's buffer: a full window is copied into a new buffer once every
// kBufferCap - kHistoryCap appends.
constexpr size_t kBufferCap = ModelpinSessionData::kBufferEvents;
static_assert(kBufferCap > ModelpinSessionData::kHistoryCap);

struct BlockTail {
  PinEventBuffer* buffer;  // nullptr: the events are in the block
};
BlockTail* TailOf(const ModelpinSessionData* m) {
  return reinterpret_cast<BlockTail*>(const_cast<char*>(reinterpret_cast<const char*>(m) + sizeof(ModelpinSessionData)));
}
constexpr size_t kHead = sizeof(ModelpinSessionData) + sizeof(BlockTail);
static_assert(kHead % alignof(PinEvent) == 0 && alignof(PinScope) <= alignof(PinEvent));
// A block that only points into an event buffer (no scope, no events of its own) is kHead bytes:
// each pin on a long history makes one and drops the one before it, so the thread recycles them.
using HeadBlocks = RecycledBlocks<kHead>;

// Counts `x` for the buffer unless it is listed already (or is none, or immortal). The list is
// searched from its end: a history goes back and forth between its latest values.
inline void Hold(PinEventBuffer* b, const Node* x) {
  if (!x || x->immortal.load(std::memory_order_relaxed)) return;
  for (uint32_t i = b->nodes_n; i > 0; --i)
    if (b->nodes[i - 1] == x) return;
  if (b->nodes_n == b->nodes_cap) {
    const uint32_t cap = b->nodes_cap ? 2 * b->nodes_cap : 8;
    auto** grown = static_cast<const Node**>(::operator new(cap * sizeof(const Node*)));
    if (b->nodes_n) std::memcpy(static_cast<void*>(grown), static_cast<const void*>(b->nodes), b->nodes_n * sizeof(const Node*));
    ::operator delete(b->nodes);
    b->nodes = grown;
    b->nodes_cap = cap;
  }
  intern_internal::Acquire(x);
  b->nodes[b->nodes_n++] = x;
}

// Counts for the buffer the values of its events [begin, end), whose earlier ones it holds
// already. An event's `from` is usually the previous event's `to`: that one is skipped at once.
void HoldEvents(PinEventBuffer* b, size_t begin, size_t end) {
  const PinEvent* ev = b->events();
  const Node* last_to = begin > 0 ? ev[begin - 1].to.node_for_block() : nullptr;
  for (size_t i = begin; i < end; ++i) {
    Hold(b, ev[i].source.node_for_block());
    if (const Node* from = ev[i].from.node_for_block(); from != last_to) Hold(b, from);
    last_to = ev[i].to.node_for_block();
    Hold(b, last_to);
    Hold(b, ev[i].scope.node_for_block());
  }
}

// Copies `n` events into a buffer's slots as their bytes: a buffer's events hold their values
// uncounted (an uncounted Interned is its pointer; PinEvent is an implicit-lifetime aggregate
// of them and a time, so the copy creates the events), and the buffer counts them (HoldEvents).
void CopyUncounted(PinEvent* to, const PinEvent* from, size_t n) {
  if (n > 0) std::memcpy(static_cast<void*>(to), static_cast<const void*>(from), n * sizeof(PinEvent));
}

void ReleaseBuffer(PinEventBuffer* b) {
  if (b->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // The events hold their values uncounted: they are left without running their destructors.
  for (uint32_t i = 0; i < b->nodes_n; ++i) intern_internal::Release(b->nodes[i]);
  ::operator delete(b->nodes);
  b->~PinEventBuffer();
  ::operator delete(static_cast<void*>(b));
}

// A buffer of `cap` events holding `kept`, then `added`.
PinEventBuffer* NewBuffer(size_t cap, const PinEvent* kept, size_t keep, const PinEvent* added, size_t n) {
  void* mem = ::operator new(sizeof(PinEventBuffer) + cap * sizeof(PinEvent));
  auto* b = new (mem) PinEventBuffer();
  b->cap = static_cast<uint32_t>(cap);
  CopyUncounted(b->events(), kept, keep);
  CopyUncounted(b->events() + keep, added, n);
  HoldEvents(b, 0, keep + n);
  b->tip.store(static_cast<uint32_t>(keep + n), std::memory_order_relaxed);
  return b;
}

}  // namespace

// A block for `scope` and a window of `size` events at `events`: in `buffer` (a reference the
// block takes over), or copied into the block with `more` after them (buffer nullptr, each event
// counting its values).
ModelpinSessionData* ModelpinData::NewBlock(const PinScope* scope, PinEventBuffer* buffer, const PinEvent* events,
                                            size_t size, const PinEvent* more, size_t more_n) {
  const size_t inline_events = buffer ? 0 : size + more_n;
  const size_t bytes = kHead + inline_events * sizeof(PinEvent) + (scope ? sizeof(PinScope) : 0);
  void* mem = bytes == kHead ? HeadBlocks::Get() : ::operator new(bytes);
  auto* m = new (mem) ModelpinSessionData();
  TailOf(m)->buffer = buffer;
  auto* after = reinterpret_cast<PinEvent*>(static_cast<char*>(mem) + kHead);
  const PinEvent* data = events;
  if (!buffer) {
    for (size_t i = 0; i < size; ++i) new (after + i) PinEvent(events[i]);
    for (size_t i = 0; i < more_n; ++i) new (after + size + i) PinEvent(more[i]);
    size += more_n;
    data = after;
  }
  if (scope) m->scope = new (after + inline_events) PinScope(*scope);
  m->history.data_ = size ? data : nullptr;
  m->history.size_ = size;
  return m;
}

ModelpinSessionData* ModelpinData::Make(const PinScope* scope, const ModelpinSessionData* old, size_t keep,
                                        const PinEvent* added, size_t n) {
  const size_t events = keep + n;
  const PinEvent* kept = keep > 0 ? old->history.end() - keep : nullptr;
  PinEventBuffer* old_buffer = old ? TailOf(old)->buffer : nullptr;
  if (events <= ModelpinSessionData::kCountedEvents) {  // small: in the block
    return NewBlock(scope, nullptr, kept, keep, added, n);
  }
  if (old_buffer) {
    const auto end = static_cast<uint32_t>(old->history.end() - old_buffer->events());
    if (n == 0 && keep == old->history.size()) {  // the same window (a new scope): share the buffer
      old_buffer->refs.fetch_add(1, std::memory_order_relaxed);
      return NewBlock(scope, old_buffer, kept, keep);
    }
    // Append at the tip: claim the slot, unless another block took it or the buffer is full.
    uint32_t expect = end;
    if (n == 1 && keep > 0 && end < old_buffer->cap &&
        old_buffer->tip.compare_exchange_strong(expect, end + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) {
      CopyUncounted(old_buffer->events() + end, added, 1);
      HoldEvents(old_buffer, end, end + 1);
      old_buffer->refs.fetch_add(1, std::memory_order_relaxed);
      return NewBlock(scope, old_buffer, kept, events);
    }
  }
  // A new buffer for the window, which counts the values of the events it copies (from the old
  // buffer or from a small block, whose events keep their own counts).
  PinEventBuffer* b = NewBuffer(std::min(kBufferCap, std::max<size_t>(2 * events, 8)), kept, keep, added, n);
  return NewBlock(scope, b, b->events(), events);
}

void ModelpinData::Release(ModelpinSessionData* p) {
  if (!p || p->refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  // NewBlock's kHead bytes: no scope, no events in the block.
  const bool head_only = p->scope == nullptr && (TailOf(p)->buffer != nullptr || p->history.empty());
  if (PinEventBuffer* b = TailOf(p)->buffer) {
    ReleaseBuffer(b);
  } else {
    PinEvent* ev = const_cast<PinEvent*>(p->history.begin());
    for (size_t i = 0; i < p->history.size(); ++i) ev[i].~PinEvent();
  }
  if (p->scope) p->scope->~PinScope();
  p->~ModelpinSessionData();
  if (head_only) HeadBlocks::Put(p);
  else ::operator delete(static_cast<void*>(p));
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
