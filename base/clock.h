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

// The one duration grammar (config, CLI flags, transcripts, /queue debounce): one or more
// <number><unit> parts, units ms, s, m, h, d, w, a number with an optional fraction: "90s", "12h",
// "2w", "1.5m", "1h30m" -> ms. The total is rounded to whole ms and must be positive and at most
// 2^53 - 1 ms. A bare number stands alone and only when `bare_unit_ms` says what it counts
// (/queue debounce: "1500" is 1500 ms); by default it is refused. Case-sensitive, no blanks.
std::optional<int64_t> ParseDurationMs(std::string_view text, int64_t bare_unit_ms = 0);

}  // namespace modelpin

#endif  // MODELPIN_BASE_CLOCK_H_
