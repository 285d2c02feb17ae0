// The engine's events: the Engine members that build them and the health comparison that
// Engine::ReportOutcome calls (the event types themselves are engine/events/events.h, below the
// rest of the engine). docs/events.md lists what each event carries.
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/events/events.h>
#include <modelpin/engine/turn/engine_impl.h>

namespace modelpin {

// The engine's events (Engine members, kept here so the turn code holds only one-line hooks:
// engine.cc). None of this runs without a sink.

void EngineImpl::Emit(Event event) {
  if (event.id.empty()) event.id = NewEventId();
  events_->OnEvent(event);
}

void EngineImpl::EmitTurnEvents(const Outcome& out, const TurnStore& ts, int64_t now) {
  // pin_changed: a turn with directives compares its selection with the one it read; an
  // ordinary message changes pins only by the route's rules (or a scoped pin running out), and
  // those record the change in the pin history, whose last event says what it was.
  if (ts.wrote) {
    const ModelpinSessionData* m = out.session.modelpin.get();
    const PinEvent* last = m && !m->history.empty() && m->history.back().at_ms == now ? &m->history.back() : nullptr;
    std::optional<PinSelection> from, to;
    if (ts.before) {
      PinSelection after = out.session.Selection();
      if (!(after == *ts.before)) from = *ts.before, to = std::move(after);
    } else if (last) {
      from = *last->from, to = *last->to;
    }
    if (from) {
      auto label = [](const PinSelection& s) {
        std::string model = s.model ? (s.provider ? *s.provider + "/" + *s.model : *s.model) : "";
        return model;
      };
      Event e{NewEventId(), now, EventKind::kPinChanged, out.agent_id, out.session_key, {}};
      e.fields = {{"fromModel", label(*from)},
                  {"toModel", label(*to)},
                  {"fromProfile", from->profile.value_or("")},
                  {"toProfile", to->profile.value_or("")},
                  {"source", last ? std::string(*last->source) : std::string(PinSourceName(PinSource::kPlugin))}};
      if (last && !last->scope->empty()) e.fields.emplace_back("scope", *last->scope);
      Emit(std::move(e));
    }
  }
  if (out.route && !out.route->fallback_from.provider.empty()) {
    const Route& r = *out.route;
    Event e{NewEventId(), now, EventKind::kFallbackUsed, out.agent_id, out.session_key, {}};
    e.fields = {{"from", r.fallback_from.Label()},
                {"to", r.model.Label()},
                {"profile", r.profiles.empty() ? "" : r.profiles.front()},
                {"reason", r.fallback_reason}};
    Emit(std::move(e));
  }
}

void EmitHealthChange(EngineImpl& engine, const std::string& agent, const std::string& session, const CallReport& report,
                      const std::string& provider, const UsageStats& before, const UsageStats& after, int64_t now) {
  EventSink* sink = engine.events();
  auto emit = [&](EventKind kind, std::vector<std::pair<std::string, std::string>> fields) {
    Event e{NewEventId(), now, kind, agent, session, {{"profile", report.profile_id}, {"provider", provider}}};
    for (auto& f : fields) e.fields.push_back(std::move(f));
    sink->OnEvent(e);
  };
  const std::string error(ErrorClassName(report.error));
  if (after.disabled_until > now && after.disabled_until != before.disabled_until) {
    emit(EventKind::kProfileDisabled, {{"until", FormatUtc(after.disabled_until)},
                                       {"reason", after.disabled_reason},
                                       {"error", error},
                                       {"errors", std::to_string(after.error_count)}});
  }
  if (after.cooldown_until > now && after.cooldown_until != before.cooldown_until) {
    emit(EventKind::kCooldownStarted, {{"until", FormatUtc(after.cooldown_until)},
                                       {"error", error},
                                       {"errors", std::to_string(after.error_count)}});
  }
  for (const auto& [model, until] : after.model_cooldowns) {
    auto it = before.model_cooldowns.find(model);
    if (until > now && (it == before.model_cooldowns.end() || it->second != until))
      emit(EventKind::kCooldownStarted, {{"until", FormatUtc(until)}, {"error", error}, {"model", model},
                                         {"errors", std::to_string(after.error_count)}});
  }
  // A success on a profile that had failed: it is usable again, cooldowns and disables cleared.
  if (report.error == ErrorClass::kOk &&
      (before.error_count > 0 || before.cooldown_until > now || before.disabled_until > now ||
       !before.model_cooldowns.empty()) &&
      after.error_count == 0 && after.cooldown_until <= now && after.disabled_until <= now) {
    emit(EventKind::kProfileRecovered, {{"after", report.probe ? "probe" : "success"}, {"errors", std::to_string(before.error_count)}});
  }
}

std::vector<Event> EngineImpl::LapsedHealth(const std::string& agent, const AuthStore& store, int64_t now) {
  std::vector<Event> out;
  // Only what runs out while this engine runs: a cooldown that ended before it started is old
  // news. Each end is announced once per engine (another process announces its own).
  auto lapsed = [&](const std::string& key, int64_t until) {
    if (until <= 0 || until > now || until < created_ms_) return false;
    int64_t& seen = announced_[key];
    if (seen == until) return false;
    seen = until;
    return true;
  };
  for (const Credential& c : store.profiles()) {
    UsageStats u = store.Usage(c.id);
    const std::string base = absl::StrCat(agent, "\n", c.id);
    auto emit = [&](EventKind kind, std::vector<std::pair<std::string, std::string>> fields) {
      Event e{NewEventId(), now, kind, agent, "", {{"profile", c.id}, {"provider", AuthProvider(c.provider)}}};
      for (auto& f : fields) e.fields.push_back(std::move(f));
      out.push_back(std::move(e));
    };
    if (lapsed(base + "\ncooldown", u.cooldown_until))
      emit(EventKind::kCooldownEnded, {{"until", FormatUtc(u.cooldown_until)}});
    for (const auto& [model, until] : u.model_cooldowns)
      if (lapsed(absl::StrCat(base, "\n", model), until))
        emit(EventKind::kCooldownEnded, {{"until", FormatUtc(until)}, {"model", model}});
    if (lapsed(base + "\ndisabled", u.disabled_until))
      emit(EventKind::kProfileRecovered, {{"after", "disable passed"}, {"until", FormatUtc(u.disabled_until)},
                                          {"reason", u.disabled_reason}});
  }
  return out;
}

}  // namespace modelpin
