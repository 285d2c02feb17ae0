// Memory follows the live sessions, not the history of the traffic: interned selections and
// names, the memory store's string table and its key arena let go of what no session holds any
// more (docs/performance.md, "Memory"). Each test counts live entries after traffic that, before,
// left one entry behind per message.
#define BOOST_TEST_MODULE memory
#include <boost/test/unit_test.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/session.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>

using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'796'126'400'000;  // 2026-12-01T12:00:00Z

// "/roll": keeps a new value in the session's field "roll.last" on every message, as a dice or
// counter plugin does.
class RollPlugin : public Plugin {
 public:
  std::string_view name() const override { return "roll"; }
  std::vector<CommandInfo> Commands() const override { return {{.name = "roll", .summary = "Roll."}}; }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    if (text.substr(0, 5) != "/roll") return std::nullopt;
    const std::string value = absl::StrCat("rolled-", ++rolls_);
    ctx.session.plugin_state["roll.last"] = value;
    return std::vector<Reply>{{value, false}};
  }

 private:
  mutable int rolls_ = 0;
};

std::unique_ptr<Engine> MakeEngine(MemorySessionStore*& store) {
  auto config = Config::Parse("test.json", R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}}},
    "auth": {"profiles": {"anthropic:default": {"provider": "anthropic", "mode": "api_key"}}}})");
  BOOST_REQUIRE_MESSAGE(config.ok(), config.status().message());
  PluginRegistry plugins = BuiltinPlugins();
  BOOST_REQUIRE(plugins.Add(std::make_shared<RollPlugin>()).ok());
  auto sessions = std::make_unique<MemorySessionStore>();
  store = sessions.get();
  EngineOptions o{.plugins = std::move(plugins)};
  o.clock = std::make_shared<FakeClock>(kNow);
  o.environment = std::map<std::string, std::string>{{"ANTHROPIC_API_KEY", "sk-ant-test-0000000000000000"}};
  auto e = Engine::Create(*std::move(config), std::move(sessions), o);
  BOOST_REQUIRE_MESSAGE(e.ok(), e.status().message());
  return *std::move(e);
}

Outcome Say(Engine& e, const std::string& text, const std::string& key) {
  auto o = e.Handle({.session_key = key, .text = text});
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
  return *std::move(o);
}

}  // namespace

// A /roll bot: 3,000 distinct values of one field in 3 sessions. Before, every value
// stayed in the store's string table (185 bytes a message, for good).
BOOST_AUTO_TEST_CASE(PluginFieldValuesDoNotStayInTheStore) {
  MemorySessionStore* store = nullptr;
  auto e = MakeEngine(store);
  for (int i = 0; i < 3000; ++i) Say(*e, "/roll", absl::StrCat("agent:main:s", i % 3));
  BOOST_TEST(store->size() == 3u);
  BOOST_TEST(store->live_strings() == 3u);  // one plugins object per session
  BOOST_TEST(store->table_strings() <= 3u + MemorySessionStore::kUnheldKept + 1);
  // The fields are still the latest ones, and the next message is answered.
  BOOST_TEST(Say(*e, "/roll", "agent:main:s0").session.plugin_state.at("roll.last") == "rolled-3001");
  BOOST_TEST(store->Get("main", "agent:main:s1")->plugin_state.at("roll.last") == "rolled-2999");
  BOOST_TEST(Say(*e, "hello", "agent:main:s2").route.has_value());
}

// 2,000 distinct model ids pinned in one session: the store keeps the current one, the interned
// selections are those the session's history (50 events) still names, not all 2,000.
BOOST_AUTO_TEST_CASE(DistinctModelIdsInOneSessionDoNotGrowTheTables) {
  MemorySessionStore* store = nullptr;
  auto e = MakeEngine(store);
  Say(*e, "/model anthropic/claude-sonnet-4-5", "agent:main:other");  // the history's names are interned
  const size_t selections_before = Interned<PinSelection>::LiveCount();
  const size_t names_before = Interned<std::string>::LiveCount();
  for (int i = 0; i < 2000; ++i) {
    Outcome o = Say(*e, absl::StrCat("/model anthropic/x-", i), "agent:main:pins");
    BOOST_REQUIRE(o.session.model_override.value_or("") == absl::StrCat("x-", i));
  }
  // 50 events: "x-1949" -> "x-1950" ... "x-1998" -> "x-1999", 51 selections; the history's
  // buffer may still hold up to 30 older events (kBufferEvents), whose selections live with it.
  const size_t selections = Interned<PinSelection>::LiveCount() - selections_before;
  BOOST_TEST(selections >= ModelpinSessionData::kHistoryCap + 1);
  BOOST_TEST(selections <= ModelpinSessionData::kBufferEvents + 1);
  BOOST_TEST(Interned<std::string>::LiveCount() <= names_before + 2);
  BOOST_TEST(store->live_strings() <= 8u);
  BOOST_TEST(store->table_strings() <= 8u + MemorySessionStore::kUnheldKept + 1);
  // The history still reads right: the last change, and undo goes back one.
  const SessionState s = *store->Get("main", "agent:main:pins");
  BOOST_TEST(s.modelpin->history.size() == ModelpinSessionData::kHistoryCap);
  BOOST_TEST(*s.modelpin->history.back().to->model == "x-1999");
  BOOST_TEST(*s.modelpin->history.back().from->model == "x-1998");
  BOOST_TEST(*s.modelpin->history.front().to->model == "x-1950");
  Say(*e, "/model undo", "agent:main:pins");
  BOOST_TEST(store->Get("main", "agent:main:pins")->model_override.value_or("") == "x-1998");
}

// The same at the store's level, without the engine: every value a session let go of is freed,
// and a freed string's id, reused for another, never shows through an older session.
BOOST_AUTO_TEST_CASE(FreedStringsAreReusedWithoutMixingSessions) {
  MemorySessionStore store;
  SessionState a;
  a.provider_override = "p";
  a.model_override = "m1";
  BOOST_REQUIRE(store.Put("main", "a", a).ok());
  a.model_override = "m2";  // "m1" is freed
  a.thinking_level = "p";   // the same string in a second field
  BOOST_REQUIRE(store.Put("main", "a", a).ok());
  BOOST_TEST(store.live_strings() == 2u);
  SessionState b;
  b.model_override = "m3";
  b.provider_override = "p";
  BOOST_REQUIRE(store.Put("main", "b", b).ok());
  // Strings no session holds are freed in batches, and their ids reused by b's values.
  for (int i = 0; i < 300; ++i) {
    b.thinking_level = absl::StrCat("level-", i);
    BOOST_REQUIRE(store.Put("main", "b", b).ok());
  }
  BOOST_TEST(store.live_strings() == 4u);
  BOOST_TEST(store.table_strings() <= 4u + MemorySessionStore::kUnheldKept + 1);
  b.thinking_level.reset();
  BOOST_REQUIRE(store.Put("main", "b", b).ok());
  a.provider_override.reset();  // "p" moves out of one field, stays in the other
  BOOST_REQUIRE(store.Put("main", "a", a).ok());
  BOOST_TEST(*store.Get("main", "a")->model_override == "m2");
  BOOST_TEST(*store.Get("main", "a")->thinking_level == "p");
  BOOST_TEST(!store.Get("main", "a")->provider_override);
  BOOST_TEST(*store.Get("main", "b")->model_override == "m3");
  BOOST_TEST(*store.Get("main", "b")->provider_override == "p");
  BOOST_TEST(store.live_strings() == 3u);
  BOOST_REQUIRE(store.Put("main", "a", SessionState{}).ok());
  BOOST_REQUIRE(store.Put("main", "b", SessionState{}).ok());
  BOOST_TEST(store.live_strings() == 0u);
  BOOST_TEST(store.size() == 0u);
  // Present-but-empty strings, after their id was freed, are not taken for another.
  SessionState c;
  c.model_override = "";
  c.provider_override = "q";
  BOOST_REQUIRE(store.Put("main", "c", c).ok());
  BOOST_TEST(store.Get("main", "c")->model_override.value_or("absent") == "");
  BOOST_TEST(*store.Get("main", "c")->provider_override == "q");
}

// 30,000 sessions with long keys come and go: the keys of erased sessions are given back, the
// live ones are still found, listed and loaded.
BOOST_AUTO_TEST_CASE(ErasedSessionsGiveBackTheirKeys) {
  MemorySessionStore store;
  SessionState s;
  s.model_override = "m";
  const std::string pad(100, 'k');
  // Each session is stored, then erased with the next one's arrival, except every 1000th.
  for (int i = 0; i < 30000; ++i) {
    s.thinking_level = absl::StrCat("t", i % 7);
    BOOST_REQUIRE(store.Put("main", absl::StrCat(pad, i), s).ok());
    if (i > 0 && (i - 1) % 1000 != 999) BOOST_REQUIRE(store.Put("main", absl::StrCat(pad, i - 1), SessionState{}).ok());
  }
  BOOST_TEST(store.size() == 30u);
  auto keys = store.Keys("main");
  BOOST_REQUIRE(keys.ok());
  BOOST_REQUIRE(keys->size() == 30u);
  for (const std::string& k : *keys) {
    BOOST_TEST(k.substr(0, 100) == pad);
    const int i = std::stoi(k.substr(100));
    BOOST_TEST(i % 1000 == 999);
    BOOST_TEST(*store.Get("main", k)->thinking_level == absl::StrCat("t", i % 7));
  }
  BOOST_TEST(store.live_strings() == 8u);  // "m" and t0..t6
  BOOST_REQUIRE(store.Put("main", "after", s).ok());
  BOOST_TEST(store.Get("main", "after")->model_override.value_or("") == "m");
}

// Interned values are freed with their last holder, and threads that intern, copy and drop the
// same few values at once never see one freed under them (the ASan suite runs this too).
BOOST_AUTO_TEST_CASE(InternedValuesLiveAsLongAsTheirHolders) {
  const size_t before = Interned<std::string>::LiveCount();
  {
    Interned<std::string> a(std::string("memory-test-a"));
    Interned<std::string> b(std::string("memory-test-a"));
    BOOST_TEST((a == b));
    BOOST_TEST(Interned<std::string>::LiveCount() == before + 1);
    Interned<std::string> c = a;
    a = Interned<std::string>();
    BOOST_TEST(*c == "memory-test-a");
    BOOST_TEST(*a == "");
  }
  BOOST_TEST(Interned<std::string>::LiveCount() == before);

  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t, &wrong] {
      for (int i = 0; i < 20000; ++i) {
        const std::string v = absl::StrCat("memory-test-", (i + t) % 5);
        Interned<std::string> x(v);
        Interned<std::string> y = x;
        PinSelection sel;
        sel.model = v;
        Interned<PinSelection> z(sel);
        if (*y != v || *z->model != v) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  BOOST_TEST(wrong.load() == 0);
  BOOST_TEST(Interned<std::string>::LiveCount() == before);
}

// A scoped pin's restore selection outlives the history that named it, and a session whose
// history and scope are dropped lets go of them.
BOOST_AUTO_TEST_CASE(ScopedPinsHoldTheirRestoreSelection) {
  const size_t before = Interned<PinSelection>::LiveCount();
  {
    SessionState s;
    s.model_override = "memory-test-before";
    PinScope scope;
    scope.kind = PinScope::Kind::kOnce;
    scope.turns_left = 1;
    scope.restore = Interned(s.Selection());
    s.modelpin.SetScope(scope);
    const SessionState before_pin = s;
    s.model_override = "memory-test-pinned";
    s.RecordPinChange(kNow, PinSource::kUser, before_pin, "--once");
    SessionState copy = s;  // shares the block
    BOOST_TEST(copy.modelpin.CountTurn() == 0);
    copy.EndPinScope(kNow + 1, PinSource::kExpiry);
    BOOST_TEST(copy.model_override.value_or("") == "memory-test-before");
    BOOST_TEST(copy.modelpin->history.size() == 2u);
    BOOST_TEST(*copy.modelpin->history.back().source == "expiry");
    BOOST_TEST(s.modelpin->scope->turns_left == 1);  // the original is untouched
    // Read back from JSON: the same values, the same interned pointers.
    auto read = SessionState::FromStorageJson(copy.StorageJson());
    BOOST_REQUIRE(read.ok());
    BOOST_TEST((*read == copy));
  }
  BOOST_TEST(Interned<PinSelection>::LiveCount() == before);
}
