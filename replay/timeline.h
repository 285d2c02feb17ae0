// The rotation timeline: which credential served each model call, how the call went, and when
// each credential was cooling down or disabled, drawn as an SVG with one lane per auth profile.
//
//   TimelineRecorder rec;
//   rec.Call(now, route);                       // a routed message: a mark on its first profile
//   rec.Outcome(now, report, engine.RouteHealth(agent, route));  // colours the mark, opens bars
//   WriteFileAtomically("rotation.svg", RenderTimelineSvg(rec.timeline(), "agent rot"), 0644);
//
// `modelpin replay T --timeline out.svg` draws a transcript's simulated calls (docs/timeline.md).
// Every element carries its meaning in `class` and `data-*` attributes (a call's profile, time and
// outcome; a window's kind and span), so tests compare pictures by structure, not by bytes.
#ifndef MODELPIN_REPLAY_TIMELINE_H_
#define MODELPIN_REPLAY_TIMELINE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/turn/engine.h>

namespace modelpin {

struct TimelineCall {
  int64_t at_ms = 0;
  std::string profile{};  // "" when the route had no credential
  std::string model{};    // "provider/model"
  std::string outcome{};  // an ErrorClassName ("ok", "rate_limit", ...); "" = not reported
  std::string fallback_from{};  // set when the call went to a fallback model
  std::string fallback_reason{};
};

struct TimelineWindow {
  enum class Kind { kCooldown, kDisabled };
  std::string profile{};
  Kind kind = Kind::kCooldown;
  int64_t from_ms = 0;
  int64_t until_ms = 0;    // kUntilCredentialChanges: until the secret is replaced
  std::string reason{};    // "billing", a model cooling down, ...
};

struct Timeline {
  std::vector<std::string> lanes;  // profiles in the order they were first seen
  std::vector<TimelineCall> calls;
  std::vector<TimelineWindow> windows;
};

// Builds a Timeline from what a bot (or a replay) sees: routes, reported outcomes and the health
// of the route's profiles after each.
class TimelineRecorder {
 public:
  // A routed message: a call on the route's first profile; the route's other profiles get lanes.
  void Call(int64_t at_ms, const Route& route);
  // How the last call on `report.profile_id` went, then the health of the profiles afterwards:
  // a profile cooling down or disabled opens (or extends) a window; one that is ready again
  // closes its open window at `at_ms`.
  void Outcome(int64_t at_ms, const CallReport& report,
               const std::vector<std::pair<std::string, ProfileHealth>>& health);
  // Health seen without an outcome (a route's profiles at routing time).
  void Observe(int64_t at_ms, const std::vector<std::pair<std::string, ProfileHealth>>& health);

  const Timeline& timeline() const { return timeline_; }

 private:
  void Lane(const std::string& profile);
  Timeline timeline_;
};

// The picture: a title, the time axis (UTC, ticks at a readable step), one lane per profile with
// a mark per call coloured by outcome, bars for cooldown and disabled windows, fallbacks ringed,
// and a legend. Windows reaching far past the last call are clipped and labelled with their end.
std::string RenderTimelineSvg(const Timeline& timeline, std::string_view title);

}  // namespace modelpin

#endif  // MODELPIN_REPLAY_TIMELINE_H_
