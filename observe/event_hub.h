// Fan-out of the engine's events to live subscribers, for Server-Sent Events (the service's
// `GET /v1/events`). Each subscriber has a bounded queue: one that reads too slowly loses the
// events that do not fit, and the next read tells it how many (docs/events.md).
//
//   auto hub = std::make_shared<modelpin::EventHub>(/*queue_capacity=*/256);
//   setup.events = hub;                                  // embed/open.h EngineSetup
//   auto sub = hub->Subscribe();                          // one per HTTP client
//   while (auto next = sub->Next(std::chrono::seconds(15))) {   // nullopt: hub closed
//     if (next->event) Write(modelpin::SseFrame(*next->event));
//     else if (next->missed) Write(modelpin::SseMissed(next->missed));
//     else Write(": keep-alive\n\n");
//   }
#ifndef MODELPIN_OBSERVE_EVENT_HUB_H_
#define MODELPIN_OBSERVE_EVENT_HUB_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <modelpin/engine/events/events.h>

namespace modelpin {

class EventHub;

// One subscriber's queue. Destroying it (or Close) unsubscribes.
class EventSubscription {
 public:
  ~EventSubscription();
  // An event, or (once the queued events are read) how many were dropped after them because
  // the queue was full, or neither: the wait timed out (send a keep-alive).
  struct Item {
    uint64_t missed = 0;
    std::optional<Event> event;
  };
  // The next event, waiting at most `timeout`. nullopt once the hub or this subscription is
  // closed (after what was queued before has been read).
  std::optional<Item> Next(std::chrono::milliseconds timeout);
  // Wakes a waiting Next and ends the subscription (a client went away).
  void Close();
  uint64_t missed_total() const;

 private:
  friend class EventHub;
  EventSubscription(std::weak_ptr<EventHub> hub, size_t capacity, std::vector<EventKind> kinds)
      : hub_(std::move(hub)), capacity_(capacity), kinds_(std::move(kinds)) {}
  bool Wants(EventKind kind) const;
  void Push(const Event& event);  // from the hub

  std::weak_ptr<EventHub> hub_;
  const size_t capacity_;
  const std::vector<EventKind> kinds_;  // empty: every kind
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  uint64_t missed_ = 0;        // since the last read
  uint64_t missed_total_ = 0;
  bool closed_ = false;
};

class EventHub : public EventSink, public std::enable_shared_from_this<EventHub> {
 public:
  // `queue_capacity`: events each subscriber may have waiting (at least 1).
  explicit EventHub(size_t queue_capacity = 1024) : capacity_(queue_capacity ? queue_capacity : 1) {}
  ~EventHub() override;
  // A new subscriber, for the kinds given (empty: every kind). The hub must be owned by a
  // shared_ptr.
  std::shared_ptr<EventSubscription> Subscribe(std::vector<EventKind> kinds = {});
  // Queues the event for every subscriber that wants it; never blocks on a slow one.
  void OnEvent(const Event& event) override;
  // Ends every subscription (service shutdown): their Next returns nullopt once drained.
  void Close();
  size_t subscribers() const;

 private:
  friend class EventSubscription;
  void Remove(const EventSubscription* sub);
  const size_t capacity_;
  mutable std::mutex mu_;
  std::vector<EventSubscription*> subs_;  // each removes itself when destroyed
  bool closed_ = false;
};

// The Server-Sent Events frame of an event: "id: <id>\nevent: <kind>\ndata: <json>\n\n".
std::string SseFrame(const Event& event);
// The frame that tells a subscriber it missed `n` events: "event: missed\ndata: {"missed":n}\n\n".
std::string SseMissed(uint64_t n);

}  // namespace modelpin

#endif  // MODELPIN_OBSERVE_EVENT_HUB_H_
