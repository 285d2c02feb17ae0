#include <modelpin/observe/event_hub.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace modelpin {

EventSubscription::~EventSubscription() {
  if (auto hub = hub_.lock()) hub->Remove(this);
}

bool EventSubscription::Wants(EventKind kind) const {
  return kinds_.empty() || std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
}

void EventSubscription::Push(const Event& event) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      // A slow reader loses the newest events, never the ones it is about to read, and learns
      // how many with its next read.
      ++missed_;
      ++missed_total_;
      return;
    }
    queue_.push_back(event);
  }
  cv_.notify_one();
}

std::optional<EventSubscription::Item> EventSubscription::Next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return closed_ || !queue_.empty() || missed_ > 0; });
  if (queue_.empty() && missed_ == 0 && closed_) return std::nullopt;
  Item n;
  if (!queue_.empty()) {
    n.event = std::move(queue_.front());
    queue_.pop_front();
  } else {
    // What was dropped came after everything queued: said once the queue is read.
    n.missed = std::exchange(missed_, 0);
  }
  return n;
}

void EventSubscription::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

uint64_t EventSubscription::missed_total() const {
  std::lock_guard lock(mu_);
  return missed_total_;
}

EventHub::~EventHub() = default;

std::shared_ptr<EventSubscription> EventHub::Subscribe(std::vector<EventKind> kinds) {
  std::shared_ptr<EventSubscription> sub(new EventSubscription(weak_from_this(), capacity_, std::move(kinds)));
  std::lock_guard lock(mu_);
  if (closed_) sub->Close();
  else subs_.push_back(sub.get());
  return sub;
}

void EventHub::OnEvent(const Event& event) {
  std::lock_guard lock(mu_);
  for (EventSubscription* s : subs_)
    if (s->Wants(event.kind)) s->Push(event);
}

void EventHub::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  for (EventSubscription* s : subs_) s->Close();
  subs_.clear();
}

size_t EventHub::subscribers() const {
  std::lock_guard lock(mu_);
  return subs_.size();
}

void EventHub::Remove(const EventSubscription* sub) {
  std::lock_guard lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), sub), subs_.end());
}

std::string SseFrame(const Event& event) {
  return absl::StrCat("id: ", event.id, "\nevent: ", std::string(EventKindName(event.kind)), "\ndata: ", event.ToJson(), "\n\n");
}

std::string SseMissed(uint64_t n) { return absl::StrCat("event: missed\ndata: {\"missed\":", n, "}\n\n"); }

}  // namespace modelpin
