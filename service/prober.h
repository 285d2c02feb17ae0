// `modelpin serve`'s background prober (docs/probing.md): with config modelpin.probe.enabled, a
// thread that wakes every `tick` and runs the due probes of every agent (calls/probe.h), so a
// profile disabled for auth, billing or budget comes back once its key works again. Off unless
// configured; Stop() ends it (a probe in flight finishes first, bounded by its timeout).
//
//   service::Prober prober(engine, {.tick = std::chrono::seconds(5)});
//   if (engine.config().probe().enabled) prober.Start();
//   ...
//   prober.Stop();
#ifndef MODELPIN_SERVICE_PROBER_H_
#define MODELPIN_SERVICE_PROBER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <modelpin/calls/probe.h>

namespace modelpin::service {

struct ProberOptions {
  std::chrono::milliseconds tick{5'000};  // how often due probes are looked for
  // Each probe's result, for the server's log; never holds a secret.
  std::function<void(const std::string& agent, const ProbeResult&)> on_result{};
};

class Prober {
 public:
  Prober(Engine& engine, ProberOptions options) : engine_(engine), options_(std::move(options)) {}
  ~Prober() { Stop(); }
  void Start();
  void Stop();
  // One pass over the agents now (what each tick does); the number of probes run.
  size_t RunOnce();

 private:
  Engine& engine_;
  ProberOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace modelpin::service

#endif  // MODELPIN_SERVICE_PROBER_H_
