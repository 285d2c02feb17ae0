#include <modelpin/calls/probe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include <modelpin/calls/chat.h>
#include <modelpin/calls/model_call.h>
#include <modelpin/engine/auth/auth_order.h>

namespace modelpin {

std::vector<DueProbe> DueProbes(Engine& engine, const std::string& agent_id) {
  std::vector<DueProbe> out;
  auto store = engine.Auth(agent_id);
  if (!store.ok()) return out;
  const int64_t now = engine.NowMs();
  for (const Credential& c : (*store)->profiles()) {
    UsageStats u = (*store)->Usage(c.id);
    int64_t at = 0;
    if (ProbeDue(u, engine.config().probe(), now, &at))
      out.push_back({c.id, AuthProvider(c.provider), u.disabled_reason, at, u.probe_failures});
  }
  std::sort(out.begin(), out.end(), [](const DueProbe& a, const DueProbe& b) { return a.profile < b.profile; });
  return out;
}

std::string ProbeModel(const Config& config, const std::string& agent_id, const std::string& provider) {
  const AgentView& agent = config.Agent(agent_id);
  if (!agent.default_ref.empty() && SameAuthProvider(agent.default_ref.provider, provider)) return agent.default_ref.Label();
  for (const ModelRef& f : agent.fallbacks)
    if (SameAuthProvider(f.provider, provider)) return f.Label();
  for (const CatalogRow& row : config.catalog())
    if (SameAuthProvider(row.ref.provider, provider)) return row.ref.Label();
  return "";
}

std::vector<ProbeResult> RunProbes(Engine& engine, const std::string& agent_id, const ProbeOptions& o) {
  const std::string agent = engine.ResolveAgent(agent_id);
  std::vector<ProbeResult> todo;
  auto store = engine.Auth(agent);
  if (!store.ok()) return todo;
  auto wanted = [](const std::vector<std::string>& filter, const std::string& v) {
    return filter.empty() || std::find(filter.begin(), filter.end(), v) != filter.end();
  };
  std::vector<std::string> due;
  if (o.due_only)
    for (const DueProbe& d : DueProbes(engine, agent)) due.push_back(d.profile);
  const int64_t now = engine.NowMs();
  for (const Credential& c : (*store)->profiles()) {
    const std::string provider = AuthProvider(c.provider);
    if (!wanted(o.providers, provider) || !wanted(o.profiles, c.id)) continue;
    if (o.due_only && std::find(due.begin(), due.end(), c.id) == due.end()) continue;
    ProbeResult r;
    r.profile = c.id;
    r.provider = provider;
    r.was_disabled = (*store)->Usage(c.id).disabled_until > now;
    todo.push_back(std::move(r));
  }
  std::sort(todo.begin(), todo.end(), [](const ProbeResult& a, const ProbeResult& b) { return a.profile < b.profile; });

  auto probe = [&](ProbeResult& r) {
    std::string label = ProbeModel(engine.config(), agent, r.provider);
    if (label.empty()) {
      r.status = "error";
      r.error = absl::StrCat("no model of ", r.provider, " to ask (set a default, a fallback or models.providers.",
                             r.provider, ".models)");
      return;
    }
    r.model = label;
    ModelRef ref = ParseConfigRef(label);
    absl::StatusOr<std::string> secret = engine.SecretFor(agent, r.profile);
    if (!secret.ok()) {
      r.status = "error";
      r.error = absl::StrCat("no secret: ", secret.status().message());
      return;
    }
    const auto start = std::chrono::steady_clock::now();
    CallAnswer a = CallModel(EndpointFor(engine.config(), ref.provider), ref.model,
                             {*secret, UsesBearer(engine, agent, r.profile)}, "ping", o.timeout_ms, o.max_tokens);
    r.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    r.http_status = a.http_status;
    r.error = a.error;
    if (!a.result) {
      r.status = "error";
      return;
    }
    r.status = std::string(ErrorClassName(*a.result));
    CallReport report;
    report.profile_id = r.profile;
    report.error = *a.result;
    report.retry_after_ms = a.retry_after_ms > 0 ? a.retry_after_ms : 0;
    report.limits = LimitsOf(a.rate_limits, engine.NowMs());
    report.probe = true;
    absl::Status st = engine.ReportOutcome(agent, "", report);
    r.reported = st.ok();
    if (!st.ok()) absl::StrAppend(&r.error, r.error.empty() ? "" : "; ", "not recorded: ", st.message());
    r.recovered = r.was_disabled && r.reported && *a.result == ErrorClass::kOk;
  };

  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) probe(todo[i]);
  };
  const size_t n = std::min<size_t>(std::max(o.concurrency, 1), todo.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return todo;
}

}  // namespace modelpin
