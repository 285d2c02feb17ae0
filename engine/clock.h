// Time is injected so expiry, cooldowns and rotation are testable.
#ifndef MODELPIN_ENGINE_CLOCK_H_
#define MODELPIN_ENGINE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace modelpin {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;  // ms since the Unix epoch
};

class SystemClock : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_(now_ms) {}
  int64_t NowMs() const override { return now_.load(); }
  void Set(int64_t now_ms) { now_.store(now_ms); }
  void Advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CLOCK_H_
