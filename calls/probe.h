// Probing auth profiles (docs/probing.md): one cheap real request per profile (max_tokens 1),
// its outcome reported to the engine as a probe, so a profile disabled for auth, billing or
// budget reasons comes back by itself once its key works again. `modelpin models status --probe`
// probes by hand; `modelpin serve` runs the due probes on a timer (config modelpin.probe).
//
//   for (const DueProbe& d : DueProbes(engine, "main")) ...;        // what is waiting
//   std::vector<ProbeResult> r = RunProbes(engine, "main", {.due_only = true});
//   r[0].status;     // "ok", "auth", "billing", ... or "error"
//   r[0].recovered;  // it was disabled and is usable again
#ifndef MODELPIN_CALLS_PROBE_H_
#define MODELPIN_CALLS_PROBE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <modelpin/engine/turn/engine.h>

namespace modelpin {

// A profile waiting for a probe (engine/auth/rotation.h ProbeDue).
struct DueProbe {
  std::string profile;
  std::string provider;
  std::string reason;    // why it is disabled: "auth", "billing", "budget"
  int64_t due_at = 0;    // when it became due
  int failures = 0;      // probes in a row that failed
};
// The agent's profiles that are due at the engine's clock under config modelpin.probe, by id.
std::vector<DueProbe> DueProbes(Engine& engine, const std::string& agent_id);

struct ProbeOptions {
  bool due_only = false;                 // only profiles DueProbes lists (what serve does)
  std::vector<std::string> providers{};  // only these (auth providers); empty = all
  std::vector<std::string> profiles{};   // only these profile ids; empty = all
  long timeout_ms = 10'000;              // per request
  int concurrency = 1;                   // requests at once
  int max_tokens = 1;
};

struct ProbeResult {
  std::string profile;
  std::string provider;
  std::string model;        // "provider/model" the probe asked
  std::string status;       // an error class name ("ok", "auth", "billing", ...), or "error"
                            // (no verdict on the key: no model, a malformed answer)
  long http_status = 0;
  int64_t latency_ms = 0;
  std::string error;        // why not ok, never the secret
  bool was_disabled = false;
  bool recovered = false;   // was disabled, is usable now
  bool reported = false;    // the engine took the outcome
};

// Probes the agent's stored profiles that pass the filters, `concurrency` at a time, and reports
// each verdict to the engine as a probe (CallReport::probe). In profile id order. A filter that
// names no stored profile gives an empty list (the caller says so).
std::vector<ProbeResult> RunProbes(Engine& engine, const std::string& agent_id, const ProbeOptions& options);

// The model a probe of `provider` asks: the agent's default or a fallback of that provider, else
// the provider's first catalog row; "" when the config names none.
std::string ProbeModel(const Config& config, const std::string& agent_id, const std::string& provider);

}  // namespace modelpin

#endif  // MODELPIN_CALLS_PROBE_H_
