// What a running service saw of rotation, for its timeline (GET /v1/timeline, the console's
// Timeline view): every model call reported to it (POST /v1/outcome, each attempt of
// POST /v1/chat) and the cooldown and disable windows the engine's events announce. Bounded: the
// newest `max_calls` calls and `max_windows` windows, the oldest dropped first, so a service that
// runs for months holds a fixed amount.
//
//   auto activity = std::make_shared<service::Activity>();
//   setup.events = std::make_shared<EventFanOut>(std::vector<std::shared_ptr<EventSink>>{hub, activity});
//   activity->Call(agent, now, report, model);           // after each reported call
//   std::string svg = activity->Svg("main", "", now - 3'600'000, now, "Rotation, last hour");
#ifndef MODELPIN_SERVICE_ACTIVITY_H_
#define MODELPIN_SERVICE_ACTIVITY_H_

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/events/events.h>
#include <modelpin/replay/timeline.h>

namespace modelpin::service {

class Activity : public EventSink {
 public:
  explicit Activity(size_t max_calls = 20'000, size_t max_windows = 5'000)
      : max_calls_(max_calls), max_windows_(max_windows) {}

  // A model call on `profile` of `agent` and how it went; `fallback_from` when the call went to
  // a fallback model.
  void Call(std::string_view agent, int64_t at_ms, std::string_view profile, std::string_view model,
            ErrorClass outcome, std::string_view fallback_from = {});
  // Cooldowns and disables open windows; their ends, recoveries and successes close them.
  void OnEvent(const Event& event) override;

  // The timeline of `agent` ("" = every agent) between the two instants, of one provider's
  // profiles ("" = all), as an SVG (replay/timeline.h).
  std::string Svg(std::string_view agent, std::string_view provider, int64_t from_ms, int64_t to_ms,
                  std::string_view title) const;
  // The same, as the data behind the picture.
  Timeline Window(std::string_view agent, std::string_view provider, int64_t from_ms, int64_t to_ms) const;

 private:
  struct Entry {
    std::string agent;
    TimelineCall call;
  };
  struct Span {
    std::string agent;
    TimelineWindow window;
  };
  void CloseOpen(std::string_view agent, std::string_view profile, int64_t at_ms);

  const size_t max_calls_;
  const size_t max_windows_;
  mutable std::mutex mu_;
  std::deque<Entry> calls_;
  std::deque<Span> windows_;
};

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_ACTIVITY_H_
