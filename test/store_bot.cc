// A stand-in bot process for the shared-store tests: one engine over the session store a config
// names (modelpin.store), fed messages on stdin, one per line as "SESSION<TAB>TEXT". For each it
// prints one line, flushed: "ok<TAB><the session's storage JSON>" or "err<TAB><the error>". A
// store error fails that message only; the process keeps going, as a bot must.
//
//   store_bot CONFIG STATE_DIR [--memory] < messages > results
//
// A line "!report<TAB>PROFILE RESULT" (RESULT: success, rate_limit, auth) reports a model
// call's outcome instead (Engine::ReportOutcome) and prints "ok<TAB>reported" or the error.
// $STORE_BOT_RECHECK_MS sets EngineOptions::auth_recheck_ms (default 1000).
// --memory keeps sessions in this process (the single-process reference). With $STORE_BOT_EVENTS
// set, each store_failed_over event (a Sentinel failover the store followed) is printed on stderr
// as "event<TAB><its JSON>".
// At the end it prints "handled N, errors E, p50 X us, p99 Y us, max Z us" on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <modelpin/embed/open.h>

namespace {

// Prints the store's failovers; the other events are not this bot's business.
struct FailoverPrinter : modelpin::EventSink {
  void OnEvent(const modelpin::Event& e) override {
    if (e.kind == modelpin::EventKind::kStoreFailedOver) std::fprintf(stderr, "event\t%s\n", e.ToJson().c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: store_bot CONFIG STATE_DIR [--memory]\n";
    return 2;
  }
  const bool memory = argc > 3 && std::string(argv[3]) == "--memory";
  modelpin::EngineSetup setup{.state_dir = argv[2], .config_path = argv[1]};
  if (memory) setup.sessions = modelpin::EngineSetup::Sessions::kMemory;
  setup.environment.emplace();  // no credentials from this process's environment
  if (std::getenv("STORE_BOT_EVENTS") != nullptr) setup.events = std::make_shared<FailoverPrinter>();
  if (const char* recheck = std::getenv("STORE_BOT_RECHECK_MS")) setup.auth_recheck_ms = std::atoll(recheck);
  auto engine = modelpin::OpenEngine(std::move(setup));
  if (!engine.ok()) {
    std::cerr << "store_bot: " << engine.status().message() << "\n";
    return 1;
  }
  std::vector<double> micros;
  size_t errors = 0;
  modelpin::Outcome out;
  std::string line, result;
  while (std::getline(std::cin, line)) {
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    if (line.compare(0, tab, "!report") == 0) {
      std::string rest = line.substr(tab + 1);
      std::string profile = rest.substr(0, rest.find(' ')), what = rest.substr(rest.find(' ') + 1);
      auto result = what == "success"      ? modelpin::CallResult::kSuccess
                    : what == "rate_limit" ? modelpin::CallResult::kRateLimit
                                           : modelpin::CallResult::kAuthError;
      absl::Status st = (*engine)->ReportOutcome("main", "", profile, result);
      std::printf("%s\t%s\n", st.ok() ? "ok" : "err", st.ok() ? "reported" : std::string(st.message()).c_str());
      std::fflush(stdout);
      continue;
    }
    modelpin::InboundMessage m{.agent_id = "main", .session_key = line.substr(0, tab), .text = line.substr(tab + 1)};
    auto started = std::chrono::steady_clock::now();
    absl::Status st = (*engine)->Handle(m, out);
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count());
    if (st.ok()) {
      result = "ok\t" + (out.session.empty() ? std::string("{}") : out.session.StorageJson());
    } else {
      ++errors;
      result = "err\t" + std::string(st.message());
    }
    std::fwrite(result.data(), 1, result.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros.empty() ? 0.0 : micros[static_cast<size_t>(q * (micros.size() - 1))]; };
  std::fprintf(stderr, "handled %zu, errors %zu, p50 %.1f us, p99 %.1f us, max %.1f us\n", micros.size(), errors,
               at(0.5), at(0.99), micros.empty() ? 0.0 : micros.back());
  return 0;
}
