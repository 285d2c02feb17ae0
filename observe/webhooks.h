// Webhooks (config `modelpin.webhooks: [{url, events, secret}]`): every event a hook asks for is
// POSTed to its URL as the event's JSON, signed with the hook's secret:
//   X-Modelpin-Signature: sha256=<hex HMAC-SHA-256 of the body, keyed by the secret>
// Delivery is at least once: OnEvent writes the event to a durable outbox (SQLite, e.g.
// <state>/webhooks.sqlite) before it returns, and a delivery thread POSTs what is due, retrying
// failures with exponential backoff, across restarts. A receiver de-duplicates by the event id
// (also in the X-Modelpin-Event-Id header). docs/events.md shows how to verify a delivery.
//
//   auto hooks = modelpin::Webhooks::Open(config.webhooks(), {.outbox_path = state + "/webhooks.sqlite"});
//   (*hooks)->Start();
//   setup.events = std::shared_ptr<modelpin::Webhooks>(std::move(*hooks));
#ifndef MODELPIN_OBSERVE_WEBHOOKS_H_
#define MODELPIN_OBSERVE_WEBHOOKS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/base/clock.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/events/events.h>

struct sqlite3;

namespace modelpin {

struct WebhookOptions {
  std::string outbox_path;            // the SQLite file of the outbox (created 0600)
  size_t max_outbox = 10'000;         // entries kept; an event beyond is dropped and counted
  int64_t initial_backoff_ms = 1'000;  // after a first failure; doubles per failure of that entry
  int64_t max_backoff_ms = 300'000;   // the backoff's cap (5 min)
  long timeout_ms = 5'000;            // one POST, connection included
  int64_t idle_poll_ms = 1'000;       // the delivery thread looks at least this often
  std::shared_ptr<const Clock> clock{};  // default: the system clock
};

// "sha256=<64 hex digits>": the X-Modelpin-Signature of `body` under `secret`.
std::string WebhookSignature(std::string_view secret, std::string_view body);
// Whether `header` is the signature of `body` under `secret` (compared in constant time).
bool VerifyWebhookSignature(std::string_view secret, std::string_view body, std::string_view header);

class Webhooks : public EventSink {
 public:
  // Opens (or creates) the outbox; what a previous process left in it is delivered first.
  // Errors name the file.
  static absl::StatusOr<std::unique_ptr<Webhooks>> Open(std::vector<Config::WebhookConfig> hooks,
                                                        WebhookOptions options);
  ~Webhooks() override;  // stops the delivery thread; undelivered entries stay in the outbox

  // Queues the event for every hook that wants it (durably: written before this returns).
  void OnEvent(const Event& event) override;

  // Starts the delivery thread (idempotent); Stop waits for the POST in flight, if any.
  void Start();
  void Stop();
  // One delivery pass, on the calling thread: POSTs each due entry once, oldest first; a hook
  // that fails is not tried again in this pass and its entries wait for their backoff. Returns
  // how many were delivered. (The delivery thread runs it in a loop.)
  size_t DeliverDue();

  struct Stats {
    uint64_t delivered = 0;        // 2xx answers
    uint64_t failed_attempts = 0;  // connection errors, timeouts, non-2xx answers
    uint64_t dropped = 0;          // events refused because the outbox was full, or write failures
    size_t pending = 0;            // entries in the outbox now
    std::string last_error;        // the last failure: "<url>: HTTP 503" (never a secret)
  };
  Stats stats();
  // When the next entry is due (ms since the epoch), 0 when the outbox is empty.
  int64_t NextDueMs();

 private:
  Webhooks(std::vector<Config::WebhookConfig> hooks, WebhookOptions options, sqlite3* db);
  void Run();

  const std::vector<Config::WebhookConfig> hooks_;
  const WebhookOptions options_;
  std::shared_ptr<const Clock> clock_;
  std::mutex db_mu_;  // the connection: one statement at a time
  sqlite3* db_;
  std::atomic<uint64_t> delivered_{0}, failed_{0}, dropped_{0};
  size_t pending_ = 0;      // under db_mu_
  std::string last_error_;  // under db_mu_
  std::mutex run_mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace modelpin

#endif  // MODELPIN_OBSERVE_WEBHOOKS_H_
