// A thread's few freed blocks of one size, handed out again before the heap is asked. For the
// blocks every /model pin allocates and frees (its parsed directive, its session's pin-history
// block): taking one from here and giving it back costs a few instructions, the heap's malloc
// and free about 130 (docs/performance.md). Internal (not installed).
//
//   using Blocks = RecycledBlocks<sizeof(Thing)>;
//   void* p = Blocks::Get();            // a free block of this thread, else operator new
//   Blocks::Put(p);                     // kept for the next Get, else operator delete
//
// A block may be freed on another thread than the one that took it: it joins that thread's
// blocks. Each thread keeps at most kKeep (the rest go back to the heap) and frees those it kept
// when it ends, so the memory held does not grow with traffic.
#ifndef MODELPIN_BASE_RECYCLED_BLOCKS_H_
#define MODELPIN_BASE_RECYCLED_BLOCKS_H_

#include <cstddef>
#include <new>
#include <string>

namespace modelpin {

template <size_t kSize, size_t kKeep = 8>
class RecycledBlocks {
 public:
  static void* Get() {
    if (!gone_)
      if (Kept& k = ThreadKept(); k.n > 0) return k.blocks[--k.n];
    return ::operator new(kSize);
  }
  static void Put(void* p) {
    if (p == nullptr) return;  // (a delete of a null pointer may still call its deallocation function)
    // After the thread's list is destroyed (a thread_local destructor that runs later frees a
    // block), blocks go straight back to the heap.
    if (!gone_) {
      if (Kept& k = ThreadKept(); k.n < kKeep) {
        k.blocks[k.n++] = p;
        return;
      }
    }
    ::operator delete(p);
  }
  // Blocks this thread keeps (tests).
  static size_t kept() { return gone_ ? 0 : ThreadKept().n; }

 private:
  struct Kept {
    void* blocks[kKeep];
    size_t n = 0;
    ~Kept() {
      while (n > 0) ::operator delete(blocks[--n]);
      gone_ = true;
    }
  };
  static Kept& ThreadKept() {
    thread_local Kept k;
    return k;
  }
  static thread_local bool gone_;  // trivially destructible: readable to the thread's very end
};

template <size_t kSize, size_t kKeep>
thread_local bool RecycledBlocks<kSize, kKeep>::gone_ = false;

// A thread's string buffer for the reply a turn builds where the last turn's reply was dropped:
// a caller that reuses its Outcome gives its last reply back (Give) and the next
// acknowledgement is written into it (Take), instead of a free and a malloc per turn. A buffer
// over kMaxBytes is not kept. (Session fields that empty and fill again were tried too: the
// bookkeeping cost more instructions than the malloc and free it saved.)
class RecycledReply {
 public:
  static constexpr size_t kMaxBytes = 4096;
  // An empty string: the kept buffer, else a new one.
  static std::string Take() {
    if (!gone_) return std::move(Slot().s);  // left empty, as moved from
    return std::string();
  }
  static void Give(std::string&& s) {
    // A short string's bytes are inside it: nothing to keep.
    if (gone_ || s.capacity() <= 15 || s.capacity() > kMaxBytes) return;
    s.clear();
    Slot().s = std::move(s);
  }

 private:
  struct Kept {
    std::string s;
    ~Kept() { gone_ = true; }
  };
  static Kept& Slot() {
    thread_local Kept k;
    return k;
  }
  static inline thread_local bool gone_ = false;
};

}  // namespace modelpin

#endif  // MODELPIN_BASE_RECYCLED_BLOCKS_H_
