#include <modelpin/service/activity.h>

#include <algorithm>

#include <modelpin/base/clock.h>

namespace modelpin::service {
namespace {

// "anthropic" of "anthropic:work" (env profiles "env:ANTHROPIC_API_KEY" stay whole).
std::string_view ProviderOf(std::string_view profile) {
  size_t colon = profile.find(':');
  return colon == std::string_view::npos ? profile : profile.substr(0, colon);
}

bool Matches(std::string_view want_agent, std::string_view want_provider, std::string_view agent,
             std::string_view profile) {
  return (want_agent.empty() || want_agent == agent) && (want_provider.empty() || ProviderOf(profile) == want_provider);
}

}  // namespace

void Activity::Call(std::string_view agent, int64_t at_ms, std::string_view profile, std::string_view model,
                    ErrorClass outcome, std::string_view fallback_from) {
  Entry e{std::string(agent), {}};
  e.call.at_ms = at_ms;
  e.call.profile = std::string(profile);
  e.call.model = std::string(model);
  e.call.outcome = std::string(ErrorClassName(outcome));
  e.call.fallback_from = std::string(fallback_from);
  std::lock_guard lock(mu_);
  if (outcome == ErrorClass::kOk) CloseOpen(agent, profile, at_ms);  // a success clears the profile
  calls_.push_back(std::move(e));
  while (calls_.size() > max_calls_) calls_.pop_front();
}

void Activity::CloseOpen(std::string_view agent, std::string_view profile, int64_t at_ms) {
  for (auto it = windows_.rbegin(); it != windows_.rend(); ++it)
    if (it->agent == agent && it->window.profile == profile) {
      if (it->window.until_ms > at_ms) it->window.until_ms = std::max(at_ms, it->window.from_ms);
      return;
    }
}

void Activity::OnEvent(const Event& event) {
  const std::string profile(event.Field("profile"));
  if (profile.empty()) return;
  std::lock_guard lock(mu_);
  switch (event.kind) {
    case EventKind::kCooldownStarted:
    case EventKind::kProfileDisabled: {
      const bool disabled = event.kind == EventKind::kProfileDisabled;
      auto until = ParseUtc(event.Field("until"));
      CloseOpen(event.agent, profile, event.at_ms);
      Span s{event.agent, {}};
      s.window.profile = profile;
      s.window.kind = disabled ? TimelineWindow::Kind::kDisabled : TimelineWindow::Kind::kCooldown;
      s.window.from_ms = event.at_ms;
      s.window.until_ms = until ? *until : event.at_ms;
      s.window.reason = std::string(disabled ? event.Field("reason") : event.Field("model"));
      windows_.push_back(std::move(s));
      while (windows_.size() > max_windows_) windows_.pop_front();
      break;
    }
    case EventKind::kCooldownEnded:
    case EventKind::kProfileRecovered:
      CloseOpen(event.agent, profile, event.at_ms);
      break;
    default:
      break;
  }
}

Timeline Activity::Window(std::string_view agent, std::string_view provider, int64_t from_ms, int64_t to_ms) const {
  Timeline t;
  auto lane = [&](const std::string& p) {
    if (std::find(t.lanes.begin(), t.lanes.end(), p) == t.lanes.end()) t.lanes.push_back(p);
  };
  std::lock_guard lock(mu_);
  for (const Entry& e : calls_)
    if (e.call.at_ms >= from_ms && e.call.at_ms <= to_ms && Matches(agent, provider, e.agent, e.call.profile)) {
      lane(e.call.profile);
      t.calls.push_back(e.call);
    }
  for (const Span& s : windows_)
    if (s.window.until_ms >= from_ms && s.window.from_ms <= to_ms && Matches(agent, provider, s.agent, s.window.profile)) {
      lane(s.window.profile);
      TimelineWindow w = s.window;
      w.from_ms = std::max(w.from_ms, from_ms);
      t.windows.push_back(std::move(w));
    }
  return t;
}

std::string Activity::Svg(std::string_view agent, std::string_view provider, int64_t from_ms, int64_t to_ms,
                          std::string_view title) const {
  return RenderTimelineSvg(Window(agent, provider, from_ms, to_ms), title);
}

}  // namespace modelpin::service
