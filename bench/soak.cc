// A long-running bot in fast motion: MESSAGES messages (default 10,000,000) over SESSIONS sessions
// (default 1,000) on a memory session store, and the process's resident memory as it goes.
// Memory must follow the live sessions, not the traffic (docs/performance.md, "Memory"): the RSS
// after the first tenth of the messages and at the end differ by less than 10%.
//
//   soak [MESSAGES] [SESSIONS]
//   -> soak messages=10000000 sessions=1000 rss_first_kb=... rss_end_kb=... growth_pct=... ...
//
// Of every 100 messages: 50 are "/roll", whose plugin keeps a new value in its session field each
// time; 2 pin a model id never seen before ("/model anthropic/soak-<n>"); 4 pin one of two known
// models, 2 of them with a scope ("--once", "--turns 3"); the rest are ordinary messages. Sessions
// are picked by a fixed pseudo-random sequence, so a run is the same every time. Every session's
// pin history (50 events) is full after about 600 of its messages, well within the first tenth:
// from then on a run is in its steady state, and memory must not grow.
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/proc_status.h"
#include <modelpin/base/clock.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>

namespace {

using bench::StatusKb;

int Fail(const std::string& what) {
  std::fprintf(stderr, "soak: %s\n", what.c_str());
  return 1;
}

// "/roll": a new value in the session's "roll.last" field on every message.
class RollPlugin : public modelpin::Plugin {
 public:
  std::string_view name() const override { return "roll"; }
  std::vector<modelpin::CommandInfo> Commands() const override { return {{.name = "roll", .summary = "Roll."}}; }
  std::optional<std::vector<modelpin::Reply>> HandleCommand(std::string_view text,
                                                            modelpin::TurnContext& ctx) const override {
    if (text.substr(0, 5) != "/roll") return std::nullopt;
    const uint64_t roll = ++rolls_;
    std::string value = absl::StrCat(roll * 2654435761u % 1000003u, "-", roll);
    auto out = std::vector<modelpin::Reply>{{value, false}};
    ctx.session.plugin_state["roll.last"] = std::move(value);
    return out;
  }

 private:
  mutable uint64_t rolls_ = 0;  // one engine thread
};

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10'000'000;
  const long sessions = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 1000;
  if (n < 10 || sessions <= 0) return Fail("usage: soak [MESSAGES>=10] [SESSIONS]");
  auto config = modelpin::Config::Parse("soak.json", R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}}},
    "auth": {"profiles": {"anthropic:default": {"provider": "anthropic", "mode": "api_key"}}}})");
  if (!config.ok()) return Fail(std::string(config.status().message()));
  modelpin::PluginRegistry plugins = modelpin::BuiltinPlugins();
  if (!plugins.Add(std::make_shared<RollPlugin>()).ok()) return Fail("cannot add /roll");
  auto store = std::make_unique<modelpin::MemorySessionStore>();
  modelpin::MemorySessionStore* stored = store.get();
  modelpin::EngineOptions options{.plugins = std::move(plugins)};
  options.environment = std::map<std::string, std::string>{{"ANTHROPIC_API_KEY", "sk-ant-soak-000000000000000000"}};
  auto clock = std::make_shared<modelpin::FakeClock>(1'796'126'400'000);
  options.clock = clock;
  auto engine = modelpin::Engine::Create(*std::move(config), std::move(store), options);
  if (!engine.ok()) return Fail(std::string(engine.status().message()));

  const long first = n / 10;  // "after the first 1,000,000 of 10,000,000"
  long rss_first = 0;
  long refused = 0;
  modelpin::InboundMessage m;
  modelpin::Outcome out;
  uint64_t pick = 88172645463325252ull;  // xorshift64: the session of each message
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    pick ^= pick << 13;
    pick ^= pick >> 7;
    pick ^= pick << 17;
    m.session_key = absl::StrCat("agent:main:soak:", pick % static_cast<uint64_t>(sessions));
    const long r = i % 100;
    if (r < 50) m.text = "/roll";
    else if (r == 50 || r == 51) m.text = absl::StrCat("/model anthropic/soak-", i);
    else if (r == 52) m.text = "/model anthropic/claude-sonnet-4-5";
    else if (r == 53) m.text = "/model anthropic/claude-opus-4-5 --turns 3";
    else if (r == 54) m.text = "/model anthropic/claude-sonnet-4-5 --once";
    else if (r == 55) m.text = "/model anthropic/claude-opus-4-5";
    else m.text = absl::StrCat("hello there, message ", i);
    if (i % 1000 == 0) clock->Advance(60'000);
    absl::Status s = (*engine)->Handle(m, out);
    if (!s.ok()) return Fail(absl::StrCat("message ", i, " (", m.text, "): ", s.message()));
    if (out.replies.empty() && r <= 55) ++refused;
    if (i + 1 == first) rss_first = StatusKb("VmRSS");
    if ((i + 1) % 1'000'000 == 0)
      std::fprintf(stderr, "soak: %ld messages, rss %ld kB, heap in use %zu kB, %zu strings, %zu selections\n", i + 1,
                   StatusKb("VmRSS"), mallinfo2().uordblks / 1024, stored->live_strings(),
                   modelpin::Interned<modelpin::PinSelection>::LiveCount());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long rss_end = StatusKb("VmRSS");
  std::printf(
      "soak messages=%ld sessions=%ld stored=%zu rss_first_kb=%ld rss_end_kb=%ld hwm_kb=%ld growth_pct=%.1f "
      "live_strings=%zu live_selections=%zu seconds=%.1f\n",
      n, sessions, stored->size(), rss_first, rss_end, StatusKb("VmHWM"),
      100.0 * static_cast<double>(rss_end - rss_first) / static_cast<double>(rss_first), stored->live_strings(),
      modelpin::Interned<modelpin::PinSelection>::LiveCount(), seconds);
  if (refused > 0) return Fail(absl::StrCat(refused, " commands got no reply"));
  return 0;
}
