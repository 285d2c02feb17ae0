// The primary of a `redis-sentinel://` store as the sentinels name it. Internal to
// engine/sessions/ (not installed).
#ifndef MODELPIN_ENGINE_SESSIONS_REDIS_TOPOLOGY_H_
#define MODELPIN_ENGINE_SESSIONS_REDIS_TOPOLOGY_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/redis/client.h>
#include <modelpin/engine/sessions/redis_store.h>

namespace modelpin::redis_internal {

// Where the primary of a `redis-sentinel://` store is, shared by every connection of the process
// to that store (sessions, their change subscription, auth health). The address is asked of the
// sentinels when first needed and again after a connection to it failed (`MarkStale`); each time
// it changes, `epoch` grows: connections made before reconnect, and the session cache (told
// through `OnSwitch`) is not used until its change subscription is on the new primary.
class Topology {
 public:
  struct Addr {
    std::string host;
    int port = 0;
    bool operator==(const Addr&) const = default;
    std::string Label() const { return absl::StrCat(host, ":", port); }
  };

  static std::shared_ptr<Topology> For(const RedisOptions& o) {
    static std::mutex mu;
    static std::map<std::string, std::weak_ptr<Topology>> all;
    std::lock_guard<std::mutex> lock(mu);
    std::string key = absl::StrCat(o.Display(), "#", o.timeout_ms);
    if (auto t = all[key].lock()) return t;
    auto t = std::make_shared<Topology>(o);
    all[key] = t;
    return t;
  }
  explicit Topology(const RedisOptions& o) : o_(o) {}

  uint64_t epoch() const { return epoch_.load(); }

  // The primary's address and the epoch it belongs to; asks the sentinels when it is not known.
  absl::StatusOr<Addr> Primary(uint64_t* epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stale_ || primary_.host.empty()) {
      ASSIGN_OR_RETURN(Addr a, AskLocked());
      SwitchLocked(a, "the primary failed; the sentinels named another");
      stale_ = false;
    }
    *epoch = epoch_.load();
    return primary_;
  }
  // The primary failed a connection or a command: the next connection asks the sentinels again.
  void MarkStale() {
    std::lock_guard<std::mutex> lock(mu_);
    stale_ = true;
  }
  // A sentinel announced a new primary (`+switch-master`), or was asked (`Refresh`).
  void Switch(const Addr& a) {
    std::lock_guard<std::mutex> lock(mu_);
    SwitchLocked(a, "a sentinel announced +switch-master");
    stale_ = false;
  }
  absl::Status Refresh() {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(Addr a, AskLocked());
    SwitchLocked(a, "the sentinels named another primary");
    stale_ = false;
    return absl::OkStatus();
  }
  // `f(from, to, reason)` runs (on any thread, maybe with a store's lock held: it must only set
  // flags or report) after each change of the primary. Returns an id for Unsubscribe.
  using Listener = std::function<void(const Addr& from, const Addr& to, std::string_view reason)>;
  int OnSwitch(Listener f) {
    std::lock_guard<std::mutex> lock(mu_);
    listeners_.emplace_back(++next_id_, std::move(f));
    return next_id_;
  }
  void Unsubscribe(int id) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(listeners_, [&](const auto& l) { return l.first == id; });
  }
  // Asks each sentinel in turn, starting with the last one that answered, for the primary of
  // the master name. All failing is an error naming each sentinel and why.
  absl::StatusOr<Addr> Ask() {
    std::lock_guard<std::mutex> lock(mu_);
    return AskLocked();
  }

 private:
  absl::StatusOr<Addr> AskLocked() {
    std::vector<std::string> tried;
    const size_t n = o_.sentinels.size();
    for (size_t i = 0; i < n; ++i) {
      const size_t at = (last_good_ + i) % n;
      const RedisOptions::Server& s = o_.sentinels[at];
      std::string label = absl::StrCat(s.host, ":", s.port);
      Context c = Dial(s.host, s.port, o_.timeout_ms);
      if (!c || c->err) {
        tried.push_back(absl::StrCat(label, " (", c ? c->errstr : "out of memory", ")"));
        continue;
      }
      auto r = AskOnce(c.get(), {"SENTINEL", "get-master-addr-by-name", o_.master_name});
      if (!r.ok()) {
        tried.push_back(absl::StrCat(label, " (", r.status().message(), ")"));
        continue;
      }
      const redisReply* x = r->get();
      int port = 0;
      if (x->type != REDIS_REPLY_ARRAY || x->elements != 2 || !ParseNumber(Str(x->element[1]), &port)) {
        tried.push_back(absl::StrCat(label, " (does not know master \"", o_.master_name, "\")"));
        continue;
      }
      last_good_ = at;
      return Addr{Str(x->element[0]), port};
    }
    return absl::UnavailableError(absl::StrCat(o_.Display(), ": no sentinel named the primary of \"", o_.master_name,
                                               "\"; tried ", absl::StrJoin(tried, ", ")));
  }
  void SwitchLocked(const Addr& a, std::string_view reason) {
    if (a == primary_) return;
    const Addr from = primary_;
    primary_ = a;
    epoch_.fetch_add(1);
    if (!from.host.empty())
      for (auto& l : listeners_) l.second(from, a, reason);
  }

  const RedisOptions o_;
  std::mutex mu_;
  Addr primary_;
  bool stale_ = false;
  size_t last_good_ = 0;
  std::atomic<uint64_t> epoch_{0};
  std::vector<std::pair<int, Listener>> listeners_;
  int next_id_ = 0;
};

}  // namespace modelpin::redis_internal

#endif  // MODELPIN_ENGINE_SESSIONS_REDIS_TOPOLOGY_H_
