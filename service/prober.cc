#include <modelpin/service/prober.h>

#include <algorithm>

namespace modelpin::service {

size_t Prober::RunOnce() {
  const Config& config = engine_.config();
  std::vector<std::string> agents = config.AgentIds();
  const std::string fallback = engine_.ResolveAgent("");
  if (std::find(agents.begin(), agents.end(), fallback) == agents.end()) agents.push_back(fallback);
  ProbeOptions o;
  o.due_only = true;
  o.timeout_ms = static_cast<long>(config.probe().timeout_ms);
  o.max_tokens = config.probe().max_tokens;
  size_t n = 0;
  for (const std::string& agent : agents) {
    for (const ProbeResult& r : RunProbes(engine_, agent, o)) {
      ++n;
      if (options_.on_result) options_.on_result(agent, r);
    }
  }
  return n;
}

void Prober::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      RunOnce();
      lock.lock();
      cv_.wait_for(lock, options_.tick, [this] { return stop_; });
    }
  });
}

void Prober::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace modelpin::service
