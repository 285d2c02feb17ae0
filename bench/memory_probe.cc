// Pins N distinct sessions (default 1,000,000) in an engine backed by a MemorySessionStore and
// prints the process's resident memory, for the target "1M pinned sessions <= 256 MB RSS".
//
//   memory_probe [N]
//   -> sessions=1000000 stored=1000000 baseline_rss_kb=... rss_kb=... hwm_kb=... seconds=...
//
// Sessions alternate between two non-default pins (sonnet, llama) so every one is stored.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/proc_status.h"
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>

namespace {

using bench::StatusKb;

int Fail(const std::string& what) {
  std::fprintf(stderr, "memory_probe: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 1000000;
  if (n <= 0) return Fail("usage: memory_probe [SESSIONS]");
  const std::string state = std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/state";
  auto config = modelpin::Config::Load(state + "/modelpin.json");
  if (!config.ok()) return Fail(std::string(config.status().message()));
  auto store = std::make_unique<modelpin::MemorySessionStore>();
  modelpin::MemorySessionStore* sessions = store.get();
  auto engine = modelpin::Engine::Create(*std::move(config), std::move(store), {.state_dir = state, .plugins = modelpin::BuiltinPlugins()});
  if (!engine.ok()) return Fail(std::string(engine.status().message()));

  // Warm the engine's caches so the baseline is the engine itself, not the sessions.
  if (!(*engine)->Handle({.session_key = "agent:main:warmup", .text = "hello"}).ok()) return Fail("warm-up");
  const long baseline = StatusKb("VmRSS");

  const auto start = std::chrono::steady_clock::now();
  modelpin::InboundMessage m;
  for (long i = 0; i < n; ++i) {
    m.session_key = absl::StrCat("agent:main:bench:", i);
    m.text = (i % 2 == 0) ? "/model sonnet" : "/model llama";
    auto o = (*engine)->Handle(m);
    if (!o.ok()) return Fail(absl::StrCat("session ", i, ": ", o.status().message()));
    if (!o->session.model_override) return Fail(absl::StrCat("session ", i, " was not pinned"));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("sessions=%ld stored=%zu baseline_rss_kb=%ld rss_kb=%ld hwm_kb=%ld seconds=%.2f\n", n,
              sessions->size(), baseline, StatusKb("VmRSS"), StatusKb("VmHWM"), seconds);
  return sessions->size() >= static_cast<size_t>(n) ? 0 : Fail("not every session was stored");
}
