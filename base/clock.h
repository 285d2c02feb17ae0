// Time is injected so expiry, cooldowns and rotation are testable.
#ifndef MODELPIN_BASE_CLOCK_H_
#define MODELPIN_BASE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// Instants as people and transcripts write them: "2026-12-01T10:00:30Z" (UTC, whole seconds;
// milliseconds are shown only when present). ParseUtc also takes a fraction of a second.
std::string FormatUtc(int64_t ms);
std::optional<int64_t> ParseUtc(std::string_view text);

// "90s", "12h", "365d", "2w" -> ms; nullopt unless a positive whole number with a unit s, m, h,
// d or w ("ms" for milliseconds).
std::optional<int64_t> ParseDurationMs(std::string_view text);

}  // namespace modelpin

#endif  // MODELPIN_BASE_CLOCK_H_
