// Pins and ordinary messages against each session store, side by side (bench/run.sh prints them):
//
//   store_latency memory|sqlite|redis [PINS] [ORDINARY]
//
// PINS (default 20,000) messages alternate "/model sonnet" and "/model opus" on one session, each
// timed alone: pins per second, p50 and p99. Then ORDINARY (default 200,000) ordinary messages on
// that session, which nothing else changes: the mean per message (the cost a persisted store
// adds when it can answer from its cache). The redis store is `$MODELPIN_BENCH_REDIS` (a store
// URL, e.g. unix:///tmp/x/r.sock); sqlite is a file in a temp dir. One line on stdout:
//   store=redis pins=20000 pins_per_s=41000 p50_us=23.1 p99_us=41.0 ordinary_ns=230
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/sessions/redis_store.h"
#include "engine/turn/engine.h"
#include "plugins/builtin.h"

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store_latency: %s\n", what.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: store_latency memory|sqlite|redis [PINS] [ORDINARY]");
  const std::string kind = argv[1];
  const int pins = argc > 2 ? std::atoi(argv[2]) : 20'000;
  const int ordinary = argc > 3 ? std::atoi(argv[3]) : 200'000;
  const std::string state = std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/state";
  auto config = modelpin::Config::Load(state + "/modelpin.json");
  if (!config.ok()) Die(std::string(config.status().message()));

  std::string tmp;
  std::unique_ptr<modelpin::SessionStore> store;
  if (kind == "memory") {
    store = std::make_unique<modelpin::MemorySessionStore>();
  } else if (kind == "sqlite") {
    const char* t = std::getenv("TMPDIR");
    tmp = std::string(t && *t ? t : "/tmp") + "/modelpin-latency-XXXXXX";
    if (mkdtemp(tmp.data()) == nullptr) Die("mkdtemp");
    auto s = modelpin::SqliteSessionStore::Open(tmp + "/sessions.sqlite");
    if (!s.ok()) Die(std::string(s.status().message()));
    store = *std::move(s);
  } else if (kind == "redis") {
    const char* url = std::getenv("MODELPIN_BENCH_REDIS");
    if (url == nullptr) Die("set MODELPIN_BENCH_REDIS to a store URL");
    auto options = modelpin::RedisOptions::FromUrl(url);
    if (!options.ok()) Die(std::string(options.status().message()));
    options->prefix = "bench:";
    auto s = modelpin::RedisSessionStore::Open(*options);
    if (!s.ok()) Die(std::string(s.status().message()));
    store = *std::move(s);
  } else {
    Die("unknown store " + kind);
  }
  auto engine = modelpin::Engine::Create(*std::move(config), std::move(store), {.state_dir = state, .plugins = modelpin::BuiltinPlugins()});
  if (!engine.ok()) Die(std::string(engine.status().message()));

  using Clock = std::chrono::steady_clock;
  const modelpin::InboundMessage sonnet{.session_key = "agent:main:bench", .text = "/model sonnet"};
  const modelpin::InboundMessage opus{.session_key = "agent:main:bench", .text = "/model opus"};
  const modelpin::InboundMessage text{.session_key = "agent:main:bench",
                                      .text = "Can you summarise yesterday's meeting notes in three bullet points?"};
  modelpin::Outcome out;
  for (int i = 0; i < 200; ++i)  // warm up: connections, caches, the agent's auth store
    if (!(*engine)->Handle(i % 2 ? opus : sonnet, out).ok()) Die("warm-up pin failed");
  std::vector<double> us;
  us.reserve(static_cast<size_t>(pins));
  auto all0 = Clock::now();
  for (int i = 0; i < pins; ++i) {
    auto t0 = Clock::now();
    absl::Status st = (*engine)->Handle(i % 2 ? opus : sonnet, out);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    if (!st.ok()) Die(std::string(st.message()));
  }
  double pin_s = std::chrono::duration<double>(Clock::now() - all0).count();
  std::sort(us.begin(), us.end());
  for (int i = 0; i < 1000; ++i)
    if (!(*engine)->Handle(text, out).ok() || !out.route) Die("ordinary message failed");
  auto o0 = Clock::now();
  for (int i = 0; i < ordinary; ++i)
    if (!(*engine)->Handle(text, out).ok()) Die("ordinary message failed");
  double ord_ns = std::chrono::duration<double, std::nano>(Clock::now() - o0).count() / ordinary;
  std::printf("store=%s pins=%d pins_per_s=%.0f p50_us=%.1f p99_us=%.1f ordinary_ns=%.0f\n", kind.c_str(), pins,
              pins / pin_s, us[us.size() / 2], us[us.size() * 99 / 100], ord_ns);
  engine->reset();
  if (!tmp.empty()) std::filesystem::remove_all(tmp);
  return 0;
}
