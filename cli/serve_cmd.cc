// `modelpin serve`: the engine behind an HTTP/1.1 JSON API (service/: the server, its router and
// the API's handlers; docs/service.md).
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include <modelpin/cli/cli.h>
#include <modelpin/engine/auth/env_credentials.h>
#include <modelpin/base/json_file.h>
#include <modelpin/observe/webhooks.h>
#include <modelpin/service/api.h>
#include <modelpin/service/console.h>
#include <modelpin/service/prober.h>
#include <modelpin/service/server.h>

namespace modelpin::cli {
namespace {

constexpr const char* kServeHelp = R"(usage: modelpin serve [--listen 127.0.0.1:8787 | --listen unix:PATH] [--threads N]
                      [--memory-sessions] [--public-probes] [--max-body BYTES]
                      [--max-connections N] [--read-timeout-ms MS] [--drain-timeout-ms MS]
                      [--auth-recheck-ms MS] [--routes]
                      [--agent ID] [--config FILE] [--state DIR] [--strict] [--plugin PATH]...

Serves the engine over HTTP/1.1 (keep-alive): POST /v1/turn, POST /v1/outcome, POST /v1/chat
(the whole message: the model called through the route, each outcome reported), profiles with
health, cooldowns, auth order, sessions, explain, the event stream GET /v1/events, the rotation
timeline GET /v1/timeline, GET /metrics, the probes /healthz and /readyz, and the web console at
/ (docs/console.md). With config modelpin.probe.enabled it also re-tests disabled profiles when
they are due (docs/probing.md), one line per probe on stderr. The API
is described in docs/openapi.json, the service in docs/service.md. The engine is opened as every
client opens it: the whole config, the session store of modelpin.store (Redis) or
<state>/sessions.sqlite, plugins and credentials.

Every /v1 request carries "Authorization: Bearer TOKEN": MODELPIN_SERVICE_TOKEN (environment,
else <state>/.env) may do everything; MODELPIN_SERVICE_READ_TOKEN, when set, only GETs. Without
MODELPIN_SERVICE_TOKEN the service does not start. Probes answer without a token on loopback and
unix sockets only, unless --public-probes.

Prints "listening on ADDRESS" when ready. SIGTERM or SIGINT: stops accepting, lets requests in
flight finish, exits 0.

  --listen ADDR           HOST:PORT (default 127.0.0.1:8787; port 0 picks one) or unix:PATH
  --threads N             worker threads (default 2)
  --memory-sessions       sessions in this process's memory, not the configured store
  --public-probes         /healthz, /readyz (and /metrics) without a token from anywhere
  --max-body BYTES        largest request body (default 1048576; more is 413)
  --max-connections N     open connections at once (default 512; more are answered 503)
  --read-timeout-ms MS    a request must arrive within this (default 10000; 408)
  --drain-timeout-ms MS   how long SIGTERM waits for requests in flight (default 10000)
  --auth-recheck-ms MS    how often auth stores and shared health are looked at (default 1000)
  --routes                print the routes served, one "METHOD PATH" a line, and exit
)";

// A variable from the environment, else from <state>/.env ("" when neither sets it).
absl::StatusOr<std::string> Secret(const std::string& name, const std::string& state_dir) {
  if (const char* v = std::getenv(name.c_str()); v && *v) return std::string(v);
  std::string path = state_dir + "/.env";
  std::ifstream in(path);
  if (!in) return std::string();
  std::stringstream text;
  text << in.rdbuf();
  auto vars = ParseDotEnv(path, text.str());
  if (!vars.ok()) return vars.status();
  auto it = vars->find(name);
  return it == vars->end() ? std::string() : it->second;
}

bool Number(const Args& args, const std::string& flag, int64_t min, int64_t max, int64_t& out, std::string& error) {
  if (!args.Has(flag)) return true;
  if (!absl::SimpleAtoi(args.Value(flag), &out) || out < min || out > max) {
    error = flag + " expects a number from " + std::to_string(min) + " to " + std::to_string(max);
    return false;
  }
  return true;
}

}  // namespace

int RunServe(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "serve", kServeHelp,
                         {"--listen", "--threads", "--max-body", "--max-connections", "--read-timeout-ms",
                          "--drain-timeout-ms", "--auth-recheck-ms"},
                         {"--memory-sessions", "--public-probes", "--routes", "--bench-floor"});
      rc >= 0)
    return rc;
  if (!args.positional().empty()) return Usage("serve", "unexpected argument \"" + args.positional()[0] + "\"");
  service::ServerOptions options;
  if (args.Has("--listen")) options.listen = args.Value("--listen");
  int64_t threads = 2, max_body = 1 << 20, max_conn = 512, read_ms = 10'000, drain_ms = 10'000, recheck_ms = 1000;
  std::string error;
  if (!Number(args, "--threads", 1, 64, threads, error) || !Number(args, "--max-body", 1, 1LL << 30, max_body, error) ||
      !Number(args, "--max-connections", 1, 100'000, max_conn, error) ||
      !Number(args, "--read-timeout-ms", 1, 3'600'000, read_ms, error) ||
      !Number(args, "--drain-timeout-ms", 0, 3'600'000, drain_ms, error) ||
      !Number(args, "--auth-recheck-ms", 0, 3'600'000, recheck_ms, error))
    return Usage("serve", error);
  options.threads = static_cast<int>(threads);
  options.max_body = static_cast<size_t>(max_body);
  options.max_connections = static_cast<size_t>(max_conn);
  options.read_timeout = std::chrono::milliseconds(read_ms);
  options.drain_timeout = std::chrono::milliseconds(drain_ms);
  options.public_probes = args.Has("--public-probes");

  EngineSetup setup = Setup(common);
  setup.sessions = args.Has("--memory-sessions") ? EngineSetup::Sessions::kMemory : EngineSetup::Sessions::kConfigured;
  setup.clock = CliClock();
  setup.auth_recheck_ms = recheck_ms;
  // The engine's events go to the live stream (GET /v1/events), the metrics, the timeline and the
  // configured webhooks (from a durable outbox under the state dir).
  auto hub = std::make_shared<EventHub>(1024);
  auto metrics = std::make_shared<Metrics>();
  auto activity = std::make_shared<service::Activity>();
  std::vector<std::shared_ptr<EventSink>> sinks = {hub, metrics, activity};
  auto config = LoadSetupConfig(setup);
  if (!config.ok()) return Fail(config.status());
  std::shared_ptr<Webhooks> webhooks;
  if (!config->webhooks().empty() && !args.Has("--routes")) {
    if (absl::Status st = MakeDirs(common.StateDir()); !st.ok()) return Fail(st);
    auto hooks = Webhooks::Open(config->webhooks(), {.outbox_path = common.StateDir() + "/webhooks.sqlite"});
    if (!hooks.ok()) return Fail(hooks.status());
    webhooks = std::move(*hooks);
    webhooks->Start();
    sinks.push_back(webhooks);
  }
  setup.events = std::make_shared<EventFanOut>(std::move(sinks));
  auto engine = OpenEngine(std::move(setup));
  if (!engine.ok()) return Fail(engine.status());

  service::Router router;
  service::RegisterApi(router, **engine,
                       {.bench_floor = args.Has("--bench-floor"), .events = hub, .metrics = metrics, .activity = activity});
  service::RegisterConsole(router);
  if (args.Has("--routes")) {
    for (const auto& r : router.Routes()) std::cout << r << "\n";
    return kExitOk;
  }

  auto token = Secret("MODELPIN_SERVICE_TOKEN", common.StateDir());
  if (!token.ok()) return Fail(token.status());
  auto read_token = Secret("MODELPIN_SERVICE_READ_TOKEN", common.StateDir());
  if (!read_token.ok()) return Fail(read_token.status());
  if (token->empty())
    return Fail(absl::FailedPreconditionError(
        "MODELPIN_SERVICE_TOKEN is not set (environment or " + common.StateDir() +
        "/.env): every /v1 request needs it as its bearer token"));
  options.token = *token;
  options.read_token = *read_token;

  // SIGTERM and SIGINT are the server's (its drain); a client that goes away is not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  auto server = service::Server::Listen(std::move(options), router);
  if (!server.ok()) return Fail(server.status());
  std::cout << "listening on " << (*server)->address() << std::endl;
  // modelpin.probe.enabled: due probes of disabled profiles run in the background
  // (docs/probing.md), each result on stderr.
  std::unique_ptr<service::Prober> prober;
  if (const ProbePolicy& probe = (*engine)->config().probe(); probe.enabled) {
    auto tick = std::chrono::milliseconds(std::clamp<int64_t>(probe.interval_ms / 10, 1'000, 30'000));
    prober = std::make_unique<service::Prober>(**engine, service::ProberOptions{
        .tick = tick, .on_result = [](const std::string& agent, const ProbeResult& r) {
          std::cerr << "probe " << agent << " " << r.profile << ": " << r.status
                    << (r.recovered ? " (recovered)" : "") << (r.status == "ok" ? "" : " " + r.error) << std::endl;
        }});
    prober->Start();
  }
  int rc = (*server)->Run();
  if (prober) prober->Stop();
  hub->Close();
  if (webhooks) webhooks->Stop();
  if (absl::Status st = (*engine)->FlushSessions(); !st.ok()) return Fail(st);
  return rc;
}

}  // namespace modelpin::cli
