// What happened to pins, credentials and stores, as events an embedder can watch (docs/events.md):
// a pin changed, a cooldown started or ended, a profile was disabled or recovered, a fallback
// model took a message, a store failed over. The engine emits them through the EventSink given
// in EngineOptions::events (embed/open.h EngineSetup::events); without one it builds nothing.
//
//   struct Printer : modelpin::EventSink {
//     void OnEvent(const modelpin::Event& e) override { std::puts(e.ToJson().c_str()); }
//   };
//   auto engine = modelpin::OpenEngine({.state_dir = dir, .events = std::make_shared<Printer>()});
//
// An event never holds a secret: profiles are named by id ("anthropic:work"), stores by their
// address with the password masked.
#ifndef MODELPIN_ENGINE_EVENTS_EVENTS_H_
#define MODELPIN_ENGINE_EVENTS_EVENTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelpin {

enum class EventKind {
  kPinChanged,         // a session's model, provider or credential pin changed
  kCooldownStarted,    // a failed call put a profile (or one model of it) in a cooldown
  kCooldownEnded,      // a cooldown's time passed (derived: see docs/events.md)
  kProfileDisabled,    // a billing (or auth, under rotation "disable") failure disabled a profile
  kProfileRecovered,   // a profile that had failed answered again, or its disable passed
  kFallbackUsed,       // every profile of the session's model was unusable: a fallback model got the message
  kStoreFailedOver,    // a shared store moved to another server (Redis Sentinel)
  kBudgetWarning,      // a reported call took a budget past its warnAt share (docs/usage-and-budgets.md)
  kBudgetExhausted,    // a reported call used a budget up: its profiles are skipped until the window frees it
};
inline constexpr int kEventKinds = 9;

// "pin_changed", "cooldown_started", "cooldown_ended", "profile_disabled", "profile_recovered",
// "fallback_used", "store_failed_over", "budget_warning", "budget_exhausted".
std::string_view EventKindName(EventKind kind);
bool ParseEventKind(std::string_view name, EventKind& kind);

struct Event {
  std::string id;         // unique: "<process prefix>-<sequence>" (NewEventId), for de-duplication
  int64_t at_ms = 0;      // when, by the engine's clock
  EventKind kind = EventKind::kPinChanged;
  std::string agent;      // "" for events of no agent (store_failed_over)
  std::string session;    // "" for events of no session (cooldowns, stores)
  // What happened, by name, in order: string values only ("profile", "until", ...). Instants
  // are ISO-8601 UTC ("2026-12-01T10:00:30Z"), numbers written as decimal text.
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of field `name`, "" when absent.
  std::string_view Field(std::string_view name) const;
  // {"id":"...","at":"2026-12-01T10:00:30Z","atMs":...,"kind":"pin_changed","agent":"main",
  //  "session":"agent:main:main","fields":{"from":"...","to":"..."}}
  std::string ToJson() const;
};

// An id no other event of this process (nor, with overwhelming likelihood, of another process)
// carries: a random 64-bit prefix chosen once per process, and a sequence number.
std::string NewEventId();

// Receives the engine's events. Called on the thread that caused the event, after the change is
// stored; must be quick and must not call back into the engine (queue the event instead: see
// observe/event_hub.h). May be called from several threads at once.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void OnEvent(const Event& event) = 0;
  // One operation a session or auth-health store sent to its backend (a cached read sends
  // none): `store` "sqlite" or "redis", `op` "get", "put", "confirm", "keys", "flush",
  // "health_read", "health_version" or "health_update"; `ok` false when it failed (a version
  // check another process won is not a failure); `seconds` how long it took. The stores call it
  // on the thread of the operation, maybe with their lock held: it must only count. Metrics
  // counts them (observe/metrics.h); other sinks ignore them.
  virtual void OnStoreOp(std::string_view /*store*/, std::string_view /*op*/, bool /*ok*/, double /*seconds*/) {}
};

// Sends one event to every sink of a list (the engine's sink when an embedder wants several).
class EventFanOut : public EventSink {
 public:
  explicit EventFanOut(std::vector<std::shared_ptr<EventSink>> sinks) : sinks_(std::move(sinks)) {}
  void OnEvent(const Event& event) override {
    for (const auto& s : sinks_) s->OnEvent(event);
  }
  void OnStoreOp(std::string_view store, std::string_view op, bool ok, double seconds) override {
    for (const auto& s : sinks_) s->OnStoreOp(store, op, ok, seconds);
  }

 private:
  std::vector<std::shared_ptr<EventSink>> sinks_;
};

// The hook a store calls when it moved to another server (a Sentinel failover, a replica
// promoted). `store` is its address with any password masked; `from` and `to` the servers
// ("10.0.0.1:6379"). Does nothing when `sink` is null.
void EmitStoreFailover(EventSink* sink, int64_t now_ms, std::string_view store, std::string_view from,
                       std::string_view to, std::string_view reason);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_EVENTS_EVENTS_H_
