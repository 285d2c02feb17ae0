// Micro-benchmarks for the latency and throughput targets (docs/performance.md). bench/run.sh runs them with
// repetitions and reads the medians; `meson test --suite bench` runs them once, briefly.
//
//   BM_ModelAlias_Memory    /model sonnet, /model opus alternating on one in-memory session
//   BM_ModelStatus_Memory   /model status on a pinned in-memory session, 3 providers, 15 models
//   BM_Route_Ordinary       an ordinary message (no directive) routed to the model
//   BM_Route_Ordinary_Fresh the same through the StatusOr<Outcome> form (no target)
//   BM_Route_Ordinary_Budgets the same with three budgets configured
//   BM_MayHoldDirective_64KiB  the pre-check over 64 KiB messages full of URLs and slashes
//   BM_PersistedPin_Sqlite  /model sonnet, /model opus alternating, SQLite store (WAL) in a temp dir
//   BM_FindModelDirective   the grammar alone on "/model sonnet" (for attribution, no target)
//   BM_FindModelDirective_Grammar  the same without the short way for plain references
//   BM_Resolve_Alias        the resolver alone on "sonnet", "opus" alternating (attribution)
//   BM_MemoryStore_LoadPut/N  the memory store alone: what an alias turn asks of it, a Load then
//                           a Put of the other pin, on N sessions in turn (attribution)
//   BM_JsonString/W         the strings of a replay --json line written as JSON, by base/json_text.h
//                           (W=0) and by RapidJSON's Writer (W=1), for comparison (no target)
//
// The latency benchmarks call Engine::Handle(message, out) with one Outcome for the whole loop, as
// a bot's worker thread does (the buffers of the last outcome are reused). The StatusOr form
// allocates a fresh Outcome per message; BM_Route_Ordinary_Fresh shows what that costs.
//
// The config and auth store are fixtures/state (read only); nothing is written into the tree.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/json_text.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/models/resolver.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/grammar/directive.h>
#include <modelpin/grammar/model_directive_internal.h>
#include <modelpin/plugins/builtin.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace {

using modelpin::Config;
using modelpin::Engine;
using modelpin::EngineOptions;
using modelpin::InboundMessage;

std::string StateDir() { return std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/state"; }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "engine_bench: %s\n", what.c_str());
  std::abort();
}

// A fresh directory under $TMPDIR (the caller removes it).
std::string TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/modelpin-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp " + pattern);
  return pattern;
}

std::unique_ptr<Engine> MakeEngine(std::unique_ptr<modelpin::SessionStore> store,
                                   const std::string& config_path = StateDir() + "/modelpin.json") {
  auto config = Config::Load(config_path);
  if (!config.ok()) Die(std::string(config.status().message()));
  auto engine = Engine::Create(*std::move(config), std::move(store), EngineOptions{.state_dir = StateDir(), .plugins = modelpin::BuiltinPlugins()});
  if (!engine.ok()) Die(std::string(engine.status().message()));
  return *std::move(engine);
}

std::unique_ptr<Engine> MakeMemoryEngine() { return MakeEngine(std::make_unique<modelpin::MemorySessionStore>()); }

modelpin::Outcome MustHandle(Engine& engine, const InboundMessage& m) {
  auto o = engine.Handle(m);
  if (!o.ok()) Die("Handle(\"" + m.text + "\"): " + std::string(o.status().message()));
  return *std::move(o);
}

// Checks that the two pins really change the stored session, so the benchmark measures updates.
// The pin history (modelpin data) grows with every change, so it is left out of the comparison.
void CheckAlternates(Engine& engine, const InboundMessage& a, const InboundMessage& b) {
  auto pins = [&](const InboundMessage& m) {
    auto s = MustHandle(engine, m).session;
    s.modelpin.reset();
    return s;
  };
  auto sa = pins(a);
  auto sb = pins(b);
  if (sa == sb) Die("\"" + a.text + "\" and \"" + b.text + "\" leave the same session state");
  if (pins(a) != sa) Die("\"" + a.text + "\" is not repeatable");
}

void AlternatePins(benchmark::State& state, Engine& engine) {
  const InboundMessage sonnet{.session_key = "agent:main:bench", .text = "/model sonnet"};
  const InboundMessage opus{.session_key = "agent:main:bench", .text = "/model opus"};
  CheckAlternates(engine, sonnet, opus);
  bool flip = false;
  modelpin::Outcome out;
  for (auto _ : state) {
    absl::Status st = engine.Handle(flip ? opus : sonnet, out);
    flip = !flip;
    if (!st.ok()) {
      state.SkipWithError("Handle failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ModelAlias_Memory(benchmark::State& state) {
  auto engine = MakeMemoryEngine();
  AlternatePins(state, *engine);
}
BENCHMARK(BM_ModelAlias_Memory);

// Inserts `text` right after the first `anchor` in the file at `path`.
void InsertAfter(const std::string& path, std::string_view anchor, std::string_view text) {
  auto content = modelpin::ReadTextFile(path);
  if (!content.ok()) Die(std::string(content.status().message()));
  size_t at = content->find(anchor);
  if (at == std::string::npos) Die(absl::StrCat(path, " has no ", std::string(anchor)));
  content->insert(at + anchor.size(), text);
  if (absl::Status st = modelpin::WriteFileAtomically(path, *content, 0600); !st.ok()) Die(std::string(st.message()));
}

// The target's size for /model status: the fixture state (anthropic 8 and openrouter 4 catalog
// models) plus google with 3 models and an api-key profile: 3 providers, 15 catalog models.
std::string StatusStateDir(const std::string& dir) {
  std::filesystem::copy(StateDir(), dir, std::filesystem::copy_options::recursive);
  InsertAfter(dir + "/modelpin.json", "\"providers\": {",
              R"("google": {"models": [{"id": "gemini-3.1-pro-preview", "name": "Gemini 3.1 Pro"},)"
              R"( {"id": "gemini-3-flash-preview", "name": "Gemini 3 Flash"},)"
              R"( {"id": "gemma-4-26b-a4b-it", "name": "Gemma 4 26B"}]},)");
  InsertAfter(dir + "/agents/main/agent/auth-profiles.json", "\"profiles\": {",
              R"("google:default": {"type": "api_key", "provider": "google", "key": "AIza-bench-00000000000000000000"},)");
  return dir;
}

void BM_ModelStatus_Memory(benchmark::State& state) {
  const std::string dir = StatusStateDir(TempDir());
  auto config = Config::Load(dir + "/modelpin.json");
  if (!config.ok()) Die(std::string(config.status().message()));
  auto made = Engine::Create(*std::move(config), std::make_unique<modelpin::MemorySessionStore>(),
                             EngineOptions{.state_dir = dir, .plugins = modelpin::BuiltinPlugins()});
  if (!made.ok()) Die(std::string(made.status().message()));
  auto engine = *std::move(made);
  const InboundMessage status{.session_key = "agent:main:bench", .text = "/model status"};
  MustHandle(*engine, {.session_key = "agent:main:bench", .text = "/model sonnet"});
  auto first = MustHandle(*engine, status);
  if (first.replies.empty()) Die("/model status gave no reply");
  const std::string& text = first.replies.front().text;
  size_t blocks = 0, rows = 0;
  for (size_t at = text.find("\n\n["); at != std::string::npos; at = text.find("\n\n[", at + 1)) ++blocks;
  for (size_t at = text.find("\n  • "); at != std::string::npos; at = text.find("\n  • ", at + 1)) ++rows;
  if (blocks != 3 || rows < 15) Die(absl::StrCat("/model status shows ", blocks, " providers and ", rows, " models:\n", text));
  for (auto _ : state) {
    auto o = engine->Handle(status);
    if (!o.ok()) {
      state.SkipWithError("Handle failed");
      break;
    }
    benchmark::DoNotOptimize(o);
  }
  state.SetItemsProcessed(state.iterations());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_ModelStatus_Memory);

// An ordinary message on a session pinned to sonnet. `reuse`: one Outcome for the whole loop,
// as a bot's worker keeps; else the StatusOr form, a fresh Outcome per message.
void RouteOrdinary(benchmark::State& state, bool reuse) {
  auto engine = MakeMemoryEngine();
  const InboundMessage msg{.session_key = "agent:main:bench",
                           .text = "Can you summarise yesterday's meeting notes in three bullet points?"};
  MustHandle(*engine, {.session_key = "agent:main:bench", .text = "/model sonnet"});
  if (!MustHandle(*engine, msg).route) Die("an ordinary message got no route");
  modelpin::Outcome out;
  for (auto _ : state) {
    bool ok;
    if (reuse) {
      ok = engine->Handle(msg, out).ok();
      benchmark::DoNotOptimize(out);
    } else {
      auto o = engine->Handle(msg);
      ok = o.ok();
      benchmark::DoNotOptimize(o);
    }
    if (!ok) {
      state.SkipWithError("Handle failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Route_Ordinary(benchmark::State& state) { RouteOrdinary(state, true); }
BENCHMARK(BM_Route_Ordinary);

void BM_Route_Ordinary_Fresh(benchmark::State& state) { RouteOrdinary(state, false); }
BENCHMARK(BM_Route_Ordinary_Fresh);

// Routing rules, on an unpinned session: arg 0 without rules (the base config), arg 1 under
// fixtures/config/pins-routes.json (three rules) on a session no rule matches (the cost of
// looking), arg 2 there on a group session the first rule matches (its model and its memoised
// auth order).
void BM_Route_Ordinary_Rules(benchmark::State& state) {
  const int64_t arg = state.range(0);
  auto engine = MakeEngine(std::make_unique<modelpin::MemorySessionStore>(),
                           arg == 0 ? StateDir() + "/modelpin.json"
                                    : std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/config/pins-routes.json");
  const InboundMessage msg{.session_key = arg == 2 ? "agent:main:telegram:group:-100123" : "agent:main:bench",
                           .text = "Can you summarise yesterday's meeting notes in three bullet points?"};
  auto first = MustHandle(*engine, msg);
  if (!first.route || first.route->rule != (arg == 2 ? "groups" : "")) Die("the routing rule did not apply as expected");
  modelpin::Outcome out;
  for (auto _ : state) {
    if (!engine->Handle(msg, out).ok()) {
      state.SkipWithError("Handle failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Route_Ordinary_Rules)->Arg(0)->Arg(1)->Arg(2);

// BM_Route_Ordinary under fixtures/config/budgets-bench.json: three budgets (a profile's, a
// provider's, the agent's; none used up). Budgets are computed when the agent's health is read,
// never per message, so this should match BM_Route_Ordinary (docs/usage-and-budgets.md).
void BM_Route_Ordinary_Budgets(benchmark::State& state) {
  auto engine = MakeEngine(std::make_unique<modelpin::MemorySessionStore>(),
                           std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/config/budgets-bench.json");
  if (engine->config().budgets().size() != 3) Die("budgets-bench.json should configure three budgets");
  const InboundMessage msg{.session_key = "agent:main:bench",
                           .text = "Can you summarise yesterday's meeting notes in three bullet points?"};
  MustHandle(*engine, {.session_key = "agent:main:bench", .text = "/model sonnet"});
  if (!MustHandle(*engine, msg).route) Die("an ordinary message got no route");
  modelpin::Outcome out;
  for (auto _ : state) {
    if (!engine->Handle(msg, out).ok()) {
      state.SkipWithError("Handle failed");
      break;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Route_Ordinary_Budgets);

// MatchRoute alone, on the three rules of fixtures/config/pins-routes.json: arg 0 a key no rule
// matches, arg 1 a telegram group thread (the first rule).
void BM_MatchRoute(benchmark::State& state) {
  auto config = Config::Load(std::string(MODELPIN_SOURCE_ROOT) + "/fixtures/config/pins-routes.json");
  if (!config.ok()) Die(std::string(config.status().message()));
  const std::string key = state.range(0) ? "agent:main:telegram:group:-1001234567890:topic:42" : "agent:main:bench";
  for (auto _ : state) benchmark::DoNotOptimize(modelpin::MatchRoute(config->routes(), key));
}
BENCHMARK(BM_MatchRoute)->Arg(0)->Arg(1);

// 64 KiB of prose with URLs, paths inside words, fractions and "and/or": many '/' bytes, none of
// them at a word start, so the pre-check must answer false after looking at every byte.
std::string SlashyMessage(uint32_t seed) {
  static const char* const kPieces[] = {
      "see https://github.com/example/repo/blob/main/src/engine.cc#L42 for details",
      "and/or",
      "the ratio is 3/4 or maybe 7/8",
      "http://example.org/a/b/c?x=1&y=2",
      "docs at https://docs.example.com/v2/guide/getting-started/",
      "either/or",
      "path src/grammar/directive.cc:120",
      "TCP/IP over HTTP/2",
      "ok",
      "24/7 support",
      "https://en.wikipedia.org/wiki/Slash_(punctuation)",
      "read/write",
      "lorem ipsum dolor sit amet,",
      "s3://bucket/key/prefix/object.json",
  };
  constexpr size_t kCount = sizeof(kPieces) / sizeof(kPieces[0]);
  std::mt19937 rng(seed);
  std::string text;
  text.reserve(64 * 1024 + 128);
  while (text.size() < 64 * 1024) {
    text += kPieces[rng() % kCount];
    text += (rng() % 8 == 0) ? '\n' : ' ';
  }
  text.resize(64 * 1024);
  if (text.back() == '/') text.back() = '.';
  return text;
}

void BM_MayHoldDirective_64KiB(benchmark::State& state) {
  std::vector<std::string> messages;
  for (uint32_t i = 0; i < 16; ++i) messages.push_back(SlashyMessage(i + 1));  // 1 MiB in all
  for (const auto& m : messages)
    if (modelpin::grammar::MayHoldDirective(m)) Die("a slashy ordinary message counted as a directive");
  size_t i = 0;
  int64_t bytes = 0;
  for (auto _ : state) {
    const std::string& m = messages[i];
    i = (i + 1) % messages.size();
    bool r = modelpin::grammar::MayHoldDirective(m);
    benchmark::DoNotOptimize(r);
    bytes += static_cast<int64_t>(m.size());
  }
  state.SetBytesProcessed(bytes);
}
BENCHMARK(BM_MayHoldDirective_64KiB);

void BM_PersistedPin_Sqlite(benchmark::State& state) {
  const std::string dir = TempDir();
  {
    auto store = modelpin::SqliteSessionStore::Open(dir + "/sessions.sqlite");
    if (!store.ok()) Die(std::string(store.status().message()));
    auto engine = MakeEngine(*std::move(store));
    AlternatePins(state, *engine);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_PersistedPin_Sqlite);

void BM_FindModelDirective(benchmark::State& state) {
  for (auto _ : state) {
    auto d = modelpin::grammar::FindModelDirective("/model sonnet");
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_FindModelDirective);

// The same through the PEGTL rules alone, without the short way for "/model <plain reference>":
// what that hand-written piece saves (docs/performance.md).
void BM_FindModelDirective_Grammar(benchmark::State& state) {
  for (auto _ : state) {
    auto d = modelpin::grammar::FindModelDirectiveByGrammar("/model sonnet");
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_FindModelDirective_Grammar);

void BM_Resolve_Alias(benchmark::State& state) {
  auto config = Config::Load(StateDir() + "/modelpin.json");
  if (!config.ok()) Die(std::string(config.status().message()));
  const modelpin::ModelResolver resolver(*config, config->Agent("main"), config->catalog());
  for (const char* alias : {"sonnet", "opus"})
    if (!std::holds_alternative<modelpin::Selection>(resolver.Resolve(alias))) Die(std::string("cannot resolve ") + alias);
  bool flip = false;
  for (auto _ : state) {
    auto r = resolver.Resolve(flip ? "opus" : "sonnet");
    flip = !flip;
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Resolve_Alias);

void BM_MemoryStore_LoadPut(benchmark::State& state) {
  modelpin::MemorySessionStore store;
  const std::string agent = "main";
  std::vector<std::string> keys;
  for (int64_t i = 0; i < state.range(0); ++i) keys.push_back("agent:main:bench-" + std::to_string(i));
  // The two states an alias turn alternates between: pinned to sonnet, and back on the default.
  modelpin::SessionState sonnet;
  sonnet.provider_override = "anthropic";
  sonnet.model_override = "claude-sonnet-4-5";
  sonnet.model_override_source = "user";
  sonnet.model_override_route_resolution = "resolved";
  sonnet.live_model_switch_pending = true;
  modelpin::SessionState reset;
  reset.model_override_source = "default";
  reset.live_model_switch_pending = true;
  for (const auto& key : keys)
    if (!store.Put(agent, key, sonnet).ok()) Die("Put failed");
  modelpin::SessionState loaded;
  size_t turn = 0;
  for (auto _ : state) {
    const std::string& key = keys[turn % keys.size()];
    const bool flip = (turn / keys.size()) % 2 != 0;
    absl::Status st = store.Load(agent, key, loaded);
    if (st.ok()) st = store.Put(agent, key, flip ? sonnet : reset);
    ++turn;
    if (!st.ok()) {
      state.SkipWithError("Load or Put failed");
      break;
    }
    benchmark::DoNotOptimize(loaded);
  }
}
BENCHMARK(BM_MemoryStore_LoadPut)->Arg(1)->Arg(1000);

void BM_JsonString(benchmark::State& state) {
  // What one replay step writes as strings: the input, a reply of several lines, model ids.
  const std::vector<std::string> strings = {
      "Can you summarise the thread from yesterday? Keep it short.",
      "Model set to sonnet (anthropic/claude-sonnet-4-5).\nThink: low\nAuth: anthropic:work (\"pinned\")",
      "anthropic", "claude-sonnet-4-5", "anthropic:work", "agent:main:telegram:group:42", "r\u00e9sum\u00e9 \u2014 ok"};
  std::string out;
  const bool rapid = state.range(0) == 1;
  rapidjson::StringBuffer buf;
  for (auto _ : state) {
    if (rapid) {
      buf.Clear();
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      w.StartArray();
      for (const auto& s : strings) w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
      w.EndArray();
      benchmark::DoNotOptimize(buf.GetString());
    } else {
      out.clear();
      out.push_back('[');
      for (const auto& s : strings) {
        if (out.size() > 1) out.push_back(',');
        modelpin::AppendJsonString(&out, s);
      }
      out.push_back(']');
      benchmark::DoNotOptimize(out.data());
    }
  }
}
BENCHMARK(BM_JsonString)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
