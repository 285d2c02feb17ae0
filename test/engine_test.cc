// Engine unit tests: the auth order rules (each alone and combined), masking, the stores, restart
// persistence, rotation after reported failures, and concurrent use.
#define BOOST_TEST_MODULE engine
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <atomic>
#include <thread>

#include "absl/strings/str_join.h"
#include <modelpin/base/json_file.h>
#include <modelpin/base/recycled_blocks.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/env_credentials.h>
#include <modelpin/engine/models/builtin_thinking.h>
#include <modelpin/engine/models/catalog.h>
#include <modelpin/engine/models/thinking.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>
#include "test/golden.h"
#include "test/support.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15

using testing::ParseConfig;
using testing::ParseStore;

std::vector<std::string> Order(const Config& c, const AuthStore& s, const std::string& provider = "anthropic") {
  return ResolveAuthOrder({&c, &s, provider, kNow}).ids;
}

const char* kTwoAnthropic = R"({"profiles": {
  "a:key": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-key-111111111111"},
  "a:tok": {"type": "token", "provider": "anthropic", "token": "sk-ant-tok-222222222222"}}})";

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-test-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

}  // namespace

// ---- auth order: one rule at a time ----

BOOST_AUTO_TEST_CASE(WithoutExplicitOrderTokensComeBeforeApiKeys) {
  BOOST_TEST(Order(ParseConfig("{}"), ParseStore(kTwoAnthropic)) == (std::vector<std::string>{"a:tok", "a:key"}));
}

BOOST_AUTO_TEST_CASE(OAuthComesBeforeTokenAndApiKey) {
  auto s = ParseStore(R"({"profiles": {
    "k": {"type": "api_key", "provider": "anthropic", "key": "kkkkkkkkkkkkkkkkkk"},
    "t": {"type": "token", "provider": "anthropic", "token": "tttttttttttttttttt"},
    "o": {"type": "oauth", "provider": "anthropic", "access": "oooooooooooooooooo", "refresh": "r"}}})");
  BOOST_TEST(Order(ParseConfig("{}"), s) == (std::vector<std::string>{"o", "t", "k"}));
}

BOOST_AUTO_TEST_CASE(ConfigAuthOrderIsKeptAsGiven) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": ["a:key", "a:tok"]}}})");
  BOOST_TEST(Order(c, ParseStore(kTwoAnthropic)) == (std::vector<std::string>{"a:key", "a:tok"}));
}

BOOST_AUTO_TEST_CASE(StoredOrderOverridesConfigOrder) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": ["a:key", "a:tok"]}}})");
  auto s = ParseStore(kTwoAnthropic);
  s.SetOrder("anthropic", {"a:tok"});
  auto o = ResolveAuthOrder({&c, &s, "anthropic", kNow});
  BOOST_TEST(o.ids == (std::vector<std::string>{"a:tok"}));
  BOOST_TEST((o.source == AuthOrder::Source::kStored));
}

BOOST_AUTO_TEST_CASE(ExplicitEmptyOrderSelectsNothing) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": []}}})");
  BOOST_TEST(Order(c, ParseStore(kTwoAnthropic)).empty());
}

BOOST_AUTO_TEST_CASE(ProfilesMissingFromTheStoreAreExcludedWithAReason) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": ["a:nosuch", "a:key"]}}})");
  auto s = ParseStore(kTwoAnthropic);
  auto o = ResolveAuthOrder({&c, &s, "anthropic", kNow});
  BOOST_TEST(o.ids == (std::vector<std::string>{"a:key"}));
  BOOST_REQUIRE(o.excluded.size() == 1u);
  BOOST_TEST(o.excluded[0].first == "a:nosuch");
  BOOST_TEST(o.excluded[0].second == "not in the auth store");
}

BOOST_AUTO_TEST_CASE(ConfigModeMismatchExcludesButOAuthModeAcceptsAToken) {
  auto c = ParseConfig(R"({"auth": {"profiles": {
    "a:key": {"provider": "anthropic", "mode": "token"},
    "a:tok": {"provider": "anthropic", "mode": "oauth"}}}})");
  BOOST_TEST(Order(c, ParseStore(kTwoAnthropic)) == (std::vector<std::string>{"a:tok"}));
}

BOOST_AUTO_TEST_CASE(ExpiredTokensAreNotEligible) {
  auto s = ParseStore(R"({"profiles": {
    "a:tok": {"type": "token", "provider": "anthropic", "token": "tttttttttttttttttt", "expires": 1000},
    "a:key": {"type": "api_key", "provider": "anthropic", "key": "kkkkkkkkkkkkkkkkkk"}}})");
  BOOST_TEST(Order(ParseConfig("{}"), s) == (std::vector<std::string>{"a:key"}));
}

BOOST_AUTO_TEST_CASE(LeastRecentlyUsedComesFirstAmongEquals) {
  auto s = ParseStore(R"({"profiles": {
    "k1": {"type": "api_key", "provider": "anthropic", "key": "k1k1k1k1k1k1k1k1k1"},
    "k2": {"type": "api_key", "provider": "anthropic", "key": "k2k2k2k2k2k2k2k2k2"}},
    "usageStats": {"k1": {"lastUsed": 2000}, "k2": {"lastUsed": 1000}}})");
  BOOST_TEST(Order(ParseConfig("{}"), s) == (std::vector<std::string>{"k2", "k1"}));
}

BOOST_AUTO_TEST_CASE(CoolingProfilesMoveLastSoonestFirst) {
  auto s = ParseStore(R"({"profiles": {
    "o": {"type": "oauth", "provider": "anthropic", "access": "oooooooooooooooooo"},
    "t": {"type": "token", "provider": "anthropic", "token": "tttttttttttttttttt"},
    "k": {"type": "api_key", "provider": "anthropic", "key": "kkkkkkkkkkkkkkkkkk"}},
    "usageStats": {"o": {"cooldownUntil": 1800000090000}, "t": {"disabledUntil": 1800000030000}}})");
  auto c = ParseConfig("{}");
  auto o = ResolveAuthOrder({&c, &s, "anthropic", kNow});
  BOOST_TEST(o.ids == (std::vector<std::string>{"k", "t", "o"}));
  BOOST_TEST(o.cooling == (std::vector<std::string>{"t", "o"}));
}

BOOST_AUTO_TEST_CASE(ExplicitOrderKeepsOrderButCoolingProfilesGoLast) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": ["a:key", "a:tok"]}}})");
  auto s = ParseStore(kTwoAnthropic);
  UsageStats cooling;
  cooling.cooldown_until = kNow + 60'000;
  cooling.error_count = 1;
  s.SetUsage("a:key", cooling);
  BOOST_TEST(Order(c, s) == (std::vector<std::string>{"a:tok", "a:key"}));
}

BOOST_AUTO_TEST_CASE(AbsentExplicitIdsFallBackToTheStoreProfiles) {
  auto c = ParseConfig(R"({"auth": {"order": {"anthropic": ["x:gone"]},
                                     "profiles": {"x:gone": {"provider": "anthropic", "mode": "api_key"}}}})");
  auto s = ParseStore(kTwoAnthropic);
  auto o = ResolveAuthOrder({&c, &s, "anthropic", kNow});
  BOOST_TEST((o.source == AuthOrder::Source::kFallback));
  BOOST_TEST(o.ids == (std::vector<std::string>{"a:tok", "a:key"}));
}

BOOST_AUTO_TEST_CASE(ClaudeCliIsAnAuthAliasOfAnthropic) {
  BOOST_TEST(Order(ParseConfig("{}"), ParseStore(kTwoAnthropic), "claude-cli") ==
             (std::vector<std::string>{"a:tok", "a:key"}));
  BOOST_TEST(Order(ParseConfig("{}"), ParseStore(kTwoAnthropic), "openrouter").empty());
}

// ---- masking ----

BOOST_AUTO_TEST_CASE(SecretsAreMaskedAsOpenClawDoes) {
  BOOST_TEST(MaskSecret("sk-ant-api03-" + std::string(95, 'A')) == "sk-ant-a...AAAAAAAA");
  BOOST_TEST(MaskSecret("abcdefghijklmnop") == "ab...op");
  BOOST_TEST(MaskSecret("abcdef") == "a...f");
  BOOST_TEST(MaskSecret("  \n") == "");
  BOOST_TEST(FormatRemaining(30'000) == "soon");
  BOOST_TEST(FormatRemaining(5 * 60'000) == "5m");
  BOOST_TEST(FormatRemaining(12 * 3'600'000) == "12h");
  BOOST_TEST(FormatRemaining(48 * 3'600'000) == "2d");
}

// ---- stores ----

BOOST_AUTO_TEST_CASE(AuthStoreSaveIsPrivateAndKeepsUnknownKeys) {
  std::string dir = TempDir();
  std::string path = dir + "/agents/main/agent/auth-profiles.json";
  auto s = ParseStore(R"({"version": 1, "futureKey": {"x": 1}, "profiles": {
    "a:key": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-key-111111111111", "note": "kept"}}})");
  s.SetOrder("anthropic", {"a:key"});
  BOOST_REQUIRE(s.Save(path).ok());
  struct stat st;
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  auto back = AuthStore::Load(path);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(*back->Order("anthropic") == (std::vector<std::string>{"a:key"}));
  std::string text = testing::ReadFile(path);
  BOOST_TEST(text.find("futureKey") != std::string::npos);
  BOOST_TEST(text.find("\"note\": \"kept\"") != std::string::npos);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(AuthStoreErrorsNameFilePathAndPosition) {
  auto bad_json = AuthStore::Parse("a.json", "{\n  \"profiles\": {,}\n}");
  BOOST_TEST(std::string(bad_json.status().message()).find("a.json:2:16: invalid JSON") == 0);
  auto bad_type = AuthStore::Parse("a.json", "{\"profiles\": {\"p\": {\"type\": 3, \"provider\": \"x\"}}}");
  BOOST_TEST(bad_type.status().message() == "a.json: $.profiles.p.type (1:29): expected a string");
}

BOOST_AUTO_TEST_CASE(ConfigTypeErrorsNameFilePathAndPosition) {
  auto c = Config::Parse("c.json", "{\"agents\": {\"defaults\": {\"model\": {\"primary\": 42}}}}");
  BOOST_TEST(c.status().message() ==
             "c.json: $.agents.defaults.model.primary (1:47): expected a string, found a number");
  auto profiles = Config::Parse("c.json", "{\"auth\": {\"profiles\": {\"a:b\": []}}}");
  BOOST_TEST(profiles.status().message() == "c.json: $.auth.profiles[\"a:b\"] (1:31): expected an object, found an array");
}

BOOST_AUTO_TEST_CASE(SqliteSessionsSurviveReopening) {
  std::string dir = TempDir();
  SessionState s;
  s.provider_override = "anthropic";
  s.model_override = "claude-sonnet-4-5";
  s.auth_profile_override = "anthropic:work";
  s.live_model_switch_pending = true;
  s.thinking_level = "high";
  {
    auto store = SqliteSessionStore::Open(dir + "/sessions.sqlite");
    BOOST_REQUIRE(store.ok());
    BOOST_REQUIRE((*store)->Put("main", "agent:main:main", s).ok());
    BOOST_REQUIRE((*store)->Put("main", "agent:main:other", SessionState{}).ok());
  }
  auto store = SqliteSessionStore::Open(dir + "/sessions.sqlite");
  BOOST_REQUIRE(store.ok());
  BOOST_TEST(((*store)->Get("main", "agent:main:main").value() == s));
  BOOST_TEST((*store)->Keys("main").value() == (std::vector<std::string>{"agent:main:main"}));
  BOOST_TEST((*store)->Get("ops", "agent:main:main").value().empty());
  fs::remove_all(dir);
}

// A store of schema 1 (sessions WITHOUT ROWID) is migrated at open: every row kept, the current
// schema recorded (2, then 3 with versions), the table a rowid table (where a session's row stays on its page), once.
BOOST_AUTO_TEST_CASE(SqliteSchema1StoreIsMigratedWhole) {
  std::string dir = TempDir();
  const std::string path = dir + "/sessions.sqlite";
  auto sql = [&](const char* q, std::string* out = nullptr) {
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    auto row = [](void* o, int, char** v, char**) {
      if (o) *static_cast<std::string*>(o) += v[0] ? v[0] : "NULL";
      return 0;
    };
    char* err = nullptr;
    int rc = sqlite3_exec(db, q, row, out, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    BOOST_TEST(rc == SQLITE_OK, q << ": " << msg);
  };
  sql("PRAGMA journal_mode=WAL;"
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE sessions(agent TEXT NOT NULL, session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
      "  updated_at INTEGER NOT NULL DEFAULT (unixepoch()), PRIMARY KEY(agent, session_key)) WITHOUT ROWID;"
      "INSERT INTO meta VALUES('schema','1');"
      "INSERT INTO sessions(agent, session_key, entry_json) VALUES"
      "  ('main','agent:main:main','{\"modelOverride\":\"claude-opus-4-5\",\"providerOverride\":\"anthropic\"}'),"
      "  ('ops','agent:ops:main','{\"thinkingLevel\":\"high\"}');");
  for (int round = 0; round < 2; ++round) {  // the second open finds the current schema and changes nothing
    auto store = SqliteSessionStore::Open(path);
    BOOST_REQUIRE_MESSAGE(store.ok(), store.status().ToString());
    BOOST_TEST(*(*store)->Get("main", "agent:main:main").value().model_override == "claude-opus-4-5");
    BOOST_TEST(*(*store)->Get("ops", "agent:ops:main").value().thinking_level == "high");
    SessionState s;
    s.provider_override = "openai";
    s.model_override = "gpt-5";
    BOOST_REQUIRE((*store)->Put("main", "agent:main:other", s).ok());
  }
  std::string schema, rows, rowid;
  sql("SELECT value FROM meta WHERE key='schema'", &schema);
  sql("SELECT count(*) FROM sessions", &rows);
  sql("SELECT min(rowid) > 0 FROM sessions", &rowid);  // a WITHOUT ROWID table has no rowid
  BOOST_TEST(schema == std::to_string(SqliteSessionStore::kSchemaVersion));
  BOOST_TEST(rows == "3");
  BOOST_TEST(rowid == "1");
  fs::remove_all(dir);
}

// Several bots (or a bot and the CLI) opening one fresh store at the same moment all race to
// convert it to WAL and create its tables; SQLite refuses some of those locks at once instead of
// waiting. Every opener must get a working store and every write must land.
BOOST_AUTO_TEST_CASE(OpeningOneFreshStoreFromManyConnectionsAtOnce) {
  constexpr int kRounds = 40, kOpeners = 8;
  int failures = 0;
  std::string first_error;
  for (int round = 0; round < kRounds; ++round) {
    std::string dir = TempDir();
    std::string path = dir + "/sessions.sqlite";
    std::atomic<int> ready{0};
    std::vector<std::string> errors(kOpeners);
    std::vector<std::thread> openers;
    for (int i = 0; i < kOpeners; ++i) {
      openers.emplace_back([&, i] {
        ready.fetch_add(1);
        while (ready.load() < kOpeners) std::this_thread::yield();
        auto store = SqliteSessionStore::Open(path);
        if (!store.ok()) return void(errors[i] = std::string(store.status().message()));
        SessionState s;
        s.model_override = "m" + std::to_string(i);
        if (absl::Status put = (*store)->Put("main", "agent:main:" + std::to_string(i), s); !put.ok())
          errors[i] = std::string(put.message());
      });
    }
    for (auto& t : openers) t.join();
    size_t written = 0;
    for (const std::string& e : errors) {
      if (e.empty()) ++written;
      else if (failures++ == 0) first_error = e;
    }
    auto store = SqliteSessionStore::Open(path);
    BOOST_REQUIRE(store.ok());
    BOOST_TEST((*store)->Keys("main").value().size() == written);
    fs::remove_all(dir);
  }
  BOOST_TEST(failures == 0, failures << " of " << kRounds * kOpeners << " openers failed, first: " << first_error);
}

// A store answers a session it read from its cache (the entry of its last read remembered), and
// forgets both when another connection commits: the next read is the other's change, never the
// remembered entry of a cache that was dropped.
BOOST_AUTO_TEST_CASE(SqliteCachedReadSeesAnotherConnectionsCommit) {
  std::string path = TempDir() + "/sessions.sqlite";
  auto a = SqliteSessionStore::Open(path);
  auto b = SqliteSessionStore::Open(path);
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(b.ok());
  SessionState sonnet, opus;
  sonnet.provider_override = opus.provider_override = "anthropic";
  sonnet.model_override = "claude-sonnet-4-5";
  opus.model_override = "claude-opus-4-6";
  BOOST_REQUIRE((*a)->Put("main", "agent:main:s", sonnet).ok());
  for (int i = 0; i < 3; ++i) BOOST_TEST(((*a)->Get("main", "agent:main:s").value() == sonnet));  // from the cache
  BOOST_REQUIRE((*b)->Put("main", "agent:main:s", opus).ok());
  BOOST_TEST(((*a)->Get("main", "agent:main:s").value() == opus));
  BOOST_REQUIRE((*a)->Put("main", "agent:main:other", sonnet).ok());  // a's own commit, after b's
  BOOST_REQUIRE((*b)->Put("main", "agent:main:s", sonnet).ok());
  BOOST_TEST(((*a)->Get("main", "agent:main:s").value() == sonnet));
}

// Group commit (replay): held changes are this store's at once, other connections' after Flush or
// after the window; nothing held is lost when the store closes; window 0 commits every Put.
BOOST_AUTO_TEST_CASE(SqliteGroupCommitHoldsChangesUntilFlushOrWindow) {
  std::string dir = TempDir();
  std::string path = dir + "/sessions.sqlite";
  auto writer = SqliteSessionStore::Open(path);
  auto reader = SqliteSessionStore::Open(path);
  BOOST_REQUIRE(writer.ok());
  BOOST_REQUIRE(reader.ok());
  SessionState pin;
  pin.provider_override = "anthropic";
  pin.model_override = "claude-opus-4-6";
  (*writer)->SetGroupCommit(std::chrono::hours(1));
  BOOST_REQUIRE((*writer)->Put("main", "agent:main:a", pin).ok());
  BOOST_TEST(((*writer)->Get("main", "agent:main:a").value() == pin));
  BOOST_TEST((*reader)->Get("main", "agent:main:a").value().empty());  // held, not committed
  BOOST_REQUIRE((*writer)->Flush().ok());
  BOOST_TEST(((*reader)->Get("main", "agent:main:a").value() == pin));

  // A short window commits on the store's next use once it has passed.
  (*writer)->SetGroupCommit(std::chrono::milliseconds(1));
  BOOST_REQUIRE((*writer)->Put("main", "agent:main:b", pin).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  BOOST_REQUIRE((*writer)->Get("main", "agent:main:zzz").ok());
  BOOST_TEST(((*reader)->Get("main", "agent:main:b").value() == pin));

  // Held changes are committed when the store closes; window 0 writes through.
  (*writer)->SetGroupCommit(std::chrono::hours(1));
  BOOST_REQUIRE((*writer)->Put("main", "agent:main:c", pin).ok());
  writer->reset();
  BOOST_TEST(((*reader)->Get("main", "agent:main:c").value() == pin));
  auto again = SqliteSessionStore::Open(path);
  BOOST_REQUIRE(again.ok());
  (*again)->SetGroupCommit(std::chrono::milliseconds(0));
  BOOST_REQUIRE((*again)->Put("main", "agent:main:d", pin).ok());
  BOOST_TEST(((*reader)->Get("main", "agent:main:d").value() == pin));
  BOOST_TEST((*reader)->Keys("main").value().size() == 4u);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(SessionStoreThatIsNotADatabaseIsAClearError) {
  std::string dir = TempDir();
  std::string path = dir + "/sessions.sqlite";
  {
    FILE* f = fopen(path.c_str(), "w");
    fputs("this is not sqlite, just text that is long enough to have a header page........", f);
    fclose(f);
  }
  auto store = SqliteSessionStore::Open(path);
  BOOST_TEST(!store.ok());
  BOOST_TEST(std::string(store.status().message()).find(path + ": ") == 0);
  fs::remove_all(dir);
}

// ---- the engine over real stores ----

struct EngineFixture {
  std::string dir = TempDir();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  EngineFixture() {
    fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  }
  ~EngineFixture() { fs::remove_all(dir); }
  // Sessions in SQLite under `dir`, or with `memory` in the compact memory store.
  std::unique_ptr<Engine> Make(bool memory = false) {
    auto config = Config::Load(dir + "/modelpin.json");
    BOOST_REQUIRE(config.ok());
    absl::StatusOr<std::unique_ptr<SessionStore>> sessions = std::unique_ptr<SessionStore>();
    if (memory) sessions = std::make_unique<MemorySessionStore>();
    else sessions = SqliteSessionStore::Open(dir + "/sessions.sqlite");
    BOOST_REQUIRE(sessions.ok());
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = dir;
    o.clock = clock;
    o.auth_recheck_ms = 0;
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(*std::move(config), *std::move(sessions), o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  }
};

BOOST_FIXTURE_TEST_CASE(PinsPersistAcrossARestart, EngineFixture) {
  {
    auto e = Make();
    auto o = e->Handle({.text = "/model sonnet@anthropic:default"});
    BOOST_REQUIRE(o.ok());
    BOOST_TEST(o->replies[0].text ==
               "Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default unchanged. "
               "Auth profile set to anthropic:default.");
  }
  auto e = Make();
  auto o = e->Handle({.text = "what now?"});
  BOOST_REQUIRE(o.ok());
  BOOST_REQUIRE(o->route.has_value());
  BOOST_TEST(o->route->model.Label() == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(o->route->profiles == (std::vector<std::string>{"anthropic:default", "anthropic:work"}));
  BOOST_TEST(o->route->text == "what now?");
}

BOOST_FIXTURE_TEST_CASE(OrdinaryMessageStoresTheAutomaticPin, EngineFixture) {
  auto e = Make();
  auto o = e->Handle({.text = "hello"});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.empty());
  BOOST_TEST(o->session.OracleJson() ==
             R"({"authProfileOverride":"anthropic:work","authProfileOverrideCompactionCount":0,"authProfileOverrideSource":"auto"})");
}

BOOST_FIXTURE_TEST_CASE(ARateLimitRotatesTheNextRouteAndSuccessRecordsLastGood, EngineFixture) {
  auto e = Make();
  auto first = e->Handle({.text = "hello"});
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->route->profiles.front() == "anthropic:work");
  BOOST_REQUIRE(e->ReportOutcome("main", "agent:main:main", "anthropic:work", CallResult::kRateLimit).ok());
  auto second = e->Handle({.text = "again"});
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second->route->profiles == (std::vector<std::string>{"anthropic:default", "anthropic:work"}));
  BOOST_TEST(*second->session.auth_profile_override == "anthropic:default");
  // The cooldown is 30 s for the first failure: after it, the token is first again.
  clock->Advance(31'000);
  BOOST_REQUIRE(e->ReportOutcome("main", "agent:main:main", "anthropic:default", CallResult::kSuccess).ok());
  auto auth = e->Auth("main");
  BOOST_REQUIRE(auth.ok());
  BOOST_TEST(*(*auth)->LastGood("anthropic") == "anthropic:default");
  BOOST_TEST((*auth)->Usage("anthropic:work").error_count == 1);
  BOOST_TEST((*auth)->Usage("anthropic:default").last_used == kNow + 31'000);
  struct stat st;
  BOOST_REQUIRE(::stat((dir + "/agents/main/agent/auth-profiles.json").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
}

// A thread lends the agent cache of its last turn to its next one (no lock, no reference count:
// EngineImpl::LeaseAgent). The lent cache is only ever the same engine's and agent's, and only
// while it is current: a reported outcome, an edited auth store (once the recheck interval has
// passed) and another engine on the same thread are all seen by the very next turn.
BOOST_FIXTURE_TEST_CASE(ATurnNeverRunsOnAStaleOrAnotherEnginesAgentCache, EngineFixture) {
  auto make = [&](const std::string& config_json) {
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = dir;
    o.clock = clock;
    o.auth_recheck_ms = 60'000;  // the lent cache is used between rechecks
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(ParseConfig(config_json), nullptr, o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  };
  auto opus = make(R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}}}})");
  auto sonnet = make(R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-sonnet-4-5"}}}})");
  auto route = [](Engine& e, const std::string& text) {
    auto o = e.Handle({.session_key = "agent:main:lease", .text = text});
    BOOST_REQUIRE(o.ok());
    BOOST_REQUIRE(o->route.has_value());
    return *o->route;
  };
  // Two engines, one thread, turns interleaved: each routes on its own configuration.
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(route(*opus, "hello").model.Label() == "anthropic/claude-opus-4-5");
    BOOST_TEST(route(*sonnet, "hello").model.Label() == "anthropic/claude-sonnet-4-5");
  }
  // An engine made after another is gone (perhaps at the same address) is a new engine.
  sonnet.reset();
  auto sonnet_again = make(R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-sonnet-4-5"}}}})");
  BOOST_TEST(route(*sonnet_again, "hello").model.Label() == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(route(*opus, "hello").model.Label() == "anthropic/claude-opus-4-5");
  // A reported rate limit: the next turn, at the same instant, already rotates.
  BOOST_TEST(route(*opus, "hello").profiles.front() == "anthropic:work");
  BOOST_REQUIRE(opus->ReportOutcome("main", "agent:main:lease", "anthropic:work", CallResult::kRateLimit).ok());
  BOOST_TEST(route(*opus, "again").profiles == (std::vector<std::string>{"anthropic:default", "anthropic:work"}));
  // The auth store edited on disk: seen once the recheck interval has passed, not before.
  auto store = AuthStore::Load(dir + "/agents/main/agent/auth-profiles.json");
  BOOST_REQUIRE(store.ok());
  BOOST_REQUIRE(store->RemoveProfile("anthropic:default"));
  BOOST_REQUIRE(store->Save(dir + "/agents/main/agent/auth-profiles.json").ok());
  BOOST_TEST(route(*opus, "before the recheck").profiles.front() == "anthropic:default");
  clock->Advance(61'000);
  BOOST_TEST(route(*opus, "after it").profiles == (std::vector<std::string>{"anthropic:work"}));
}

BOOST_FIXTURE_TEST_CASE(ErrorsChangeNothing, EngineFixture) {
  auto e = Make();
  BOOST_REQUIRE(e->Handle({.text = "/model opus@anthropic:work"}).ok());
  auto before = e->Session("main", "");
  auto o = e->Handle({.text = "/think high /model llama@anthropic:work"});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.size() == 1u);
  BOOST_TEST(o->replies[0].is_error);
  BOOST_TEST((e->Session("main", "").value() == before.value()));
}

BOOST_FIXTURE_TEST_CASE(ThinkPluginLevelShowsInTheModelSummary, EngineFixture) {
  auto e = Make();
  auto set = e->Handle({.text = "/think high"});
  BOOST_REQUIRE(set.ok());
  BOOST_TEST(set->replies[0].text == "Thinking level set to high.");
  auto summary = e->Handle({.text = "/model"});
  BOOST_TEST(summary->replies[0].text.find("\nThink: high (change with /think <level>)\n") != std::string::npos);
}

namespace {

void EightThreads(Engine* e) {
  std::vector<std::thread> threads;
  // Boost.Test's assertions are not thread-safe: workers count failures, the main thread checks.
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        std::string own = "agent:main:t" + std::to_string(t);
        const char* text = (i % 2) ? "/model sonnet" : "/model opus";
        if (!e->Handle({.session_key = own, .text = text}).ok()) ++failures;
        if (!e->Handle({.session_key = "agent:main:shared", .text = text}).ok()) ++failures;
        if (!e->Handle({.session_key = own, .text = "hello"}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  // i = 199 is odd: every thread's last selection was sonnet.
  for (int t = 0; t < 8; ++t) {
    auto s = e->Session("main", "agent:main:t" + std::to_string(t));
    BOOST_TEST(s->model_override.value_or("") == "claude-sonnet-4-5");
    BOOST_TEST(s->auth_profile_override.value_or("") == "anthropic:work");
  }
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(EightThreadsOnSharedAndDistinctSessions, EngineFixture) { EightThreads(Make().get()); }

// The memory store remembers the last session it found and caches interned strings; both are
// shared between threads under its lock.
BOOST_FIXTURE_TEST_CASE(EightThreadsOnTheMemoryStore, EngineFixture) { EightThreads(Make(/*memory=*/true).get()); }

// ---- strict mode details that need their own stores ----

namespace {

struct StrictFixture {
  std::string dir = TempDir();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  ~StrictFixture() { fs::remove_all(dir); }
  std::unique_ptr<Engine> Make(const std::string& config_json, const std::string& store_json, bool strict) {
    auto store = AuthStore::Parse("auth.json", store_json);
    BOOST_REQUIRE(store.ok());
    BOOST_REQUIRE(store->Save(dir + "/agents/main/agent/auth-profiles.json").ok());
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = dir;
    o.clock = clock;
    o.strict = strict;
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(ParseConfig(config_json), nullptr, o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  }
};

const char* kExpiringStore = R"({"profiles": {
  "anthropic:tok": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-ZZZZZZZZZZZZZZZZ", "expires": 1800043200000},
  "anthropic:old": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-YYYYYYYYYYYYYYYY", "expires": 1000},
  "anthropic:key": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-XXXXXXXXXXXXXXXX"}}})";

const char* kClaudeCliConfig = R"({"models": {"providers": {"claude-cli": {"models": [{"id": "claude-opus-5"}]}}}})";

}  // namespace

BOOST_FIXTURE_TEST_CASE(StrictRefusesToPinAnExpiredProfileCompatModePinsIt, StrictFixture) {
  auto compat = Make("{}", kExpiringStore, false);
  auto pinned = compat->Handle({.text = "/model opus@anthropic:old"});
  BOOST_TEST(!pinned->replies[0].is_error);
  auto strict = Make("{}", kExpiringStore, true);
  auto refused = strict->Handle({.session_key = "s2", .text = "/model claude-opus-4-5@anthropic:old"});
  BOOST_TEST(refused->replies[0].is_error);
  BOOST_TEST(refused->replies[0].text == "Auth profile \"anthropic:old\" cannot be used for anthropic: token expired.");
}

BOOST_FIXTURE_TEST_CASE(StrictComparesProfileProvidersThroughAuthAliases, StrictFixture) {
  auto compat = Make(kClaudeCliConfig, kExpiringStore, false);
  auto refused = compat->Handle({.text = "/model claude-cli/claude-opus-5@anthropic:key"});
  BOOST_TEST(refused->replies[0].text == "Auth profile \"anthropic:key\" is for anthropic, not claude-cli.");
  auto strict = Make(kClaudeCliConfig, kExpiringStore, true);
  auto ok = strict->Handle({.session_key = "s2", .text = "/model claude-cli/claude-opus-5@anthropic:key"});
  BOOST_TEST(!ok->replies[0].is_error);
  BOOST_TEST(ok->replies[0].text.find("Auth profile set to anthropic:key.") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(ExpiryFlagSpacingDiffersOnlyInStrictMode, StrictFixture) {
  // 12 h left on the token: OpenClaw prints "(next,  exp 12h)" with two spaces (docs/strict-mode.md).
  auto compat = Make("{}", kExpiringStore, false);
  auto status = compat->Handle({.text = "/model status"});
  BOOST_TEST(status->replies[0].text.find("anthropic:tok=token:sk-ant-o...ZZZZZZZZ (next,  exp 12h)") != std::string::npos);
  auto strict = Make("{}", kExpiringStore, true);
  auto fixed = strict->Handle({.session_key = "s2", .text = "/model status"});
  BOOST_TEST(fixed->replies[0].text.find("anthropic:tok=token:sk-ant-o...ZZZZZZZZ (next, exp 12h)") != std::string::npos);
  // Neither prints a whole secret.
  BOOST_TEST(fixed->replies[0].text.find("sk-ant-oat01-ZZZZZZZZZZZZZZZZ") == std::string::npos);
}

// ---- credentials from the environment and .env ----

BOOST_AUTO_TEST_CASE(ProviderVariableTableHasOneRowPerProvider) {
  std::set<std::string> seen;
  for (const auto& row : ProviderEnvTable()) {
    BOOST_TEST(seen.insert(std::string(row.provider)).second, row.provider << " listed twice");
    BOOST_TEST(!row.variables.empty());
  }
  BOOST_TEST(seen.count("anthropic") == 1u);
  BOOST_TEST(std::string(ProviderEnvTable()[0].variables[0]) == "ANTHROPIC_API_KEY");
}

BOOST_AUTO_TEST_CASE(DotEnvSyntax) {
  auto env = ParseDotEnv(".env",
                         "# comment\n"
                         "\n"
                         "export ANTHROPIC_API_KEY=sk-plain   # trailing comment\n"
                         "OPENROUTER_API_KEY=\"quoted \\\"value\\\" with # hash\"\n"
                         "OPENAI_API_KEY='$HOME stays literal'\n"
                         "XAI_API_KEY=$NOT_EXPANDED\r\n");
  BOOST_REQUIRE_MESSAGE(env.ok(), env.status().message());
  BOOST_TEST(env->at("ANTHROPIC_API_KEY") == "sk-plain");
  BOOST_TEST(env->at("OPENROUTER_API_KEY") == "quoted \"value\" with # hash");
  BOOST_TEST(env->at("OPENAI_API_KEY") == "$HOME stays literal");
  BOOST_TEST(env->at("XAI_API_KEY") == "$NOT_EXPANDED");
  BOOST_TEST(ParseDotEnv(".env", "A=1\nNOT A PAIR\n").status().message() == ".env:2: expected KEY=VALUE");
  BOOST_TEST(ParseDotEnv(".env", "A=\"open\n").status().message() == ".env:1: unterminated double quote");
  BOOST_TEST(ParseDotEnv(".env", "BAD-NAME=1\n").status().message() == ".env:1: invalid variable name \"BAD-NAME\"");
}

BOOST_AUTO_TEST_CASE(EnvironmentWinsOverDotEnvAndLooseModesWarn) {
  std::string dir = TempDir();
  {
    FILE* f = fopen((dir + "/.env").c_str(), "w");
    fputs("ANTHROPIC_API_KEY=from-file-aaaaaaaaaaaa\nOPENROUTER_API_KEY=from-file-bbbbbbbbbbbb\n", f);
    fclose(f);
  }
  ::chmod((dir + "/.env").c_str(), 0644);
  auto env = EnvCredentials::Load(dir + "/.env", {{"ANTHROPIC_API_KEY", "from-env-cccccccccccc"}});
  BOOST_REQUIRE(env.ok());
  BOOST_TEST(env->For("anthropic")->value == "from-env-cccccccccccc");
  BOOST_TEST(env->For("anthropic")->source == "environment");
  BOOST_TEST(env->For("claude-cli")->variable == "ANTHROPIC_API_KEY");  // auth alias
  BOOST_TEST(env->For("openrouter")->source == dir + "/.env");
  BOOST_REQUIRE(env->warnings().size() == 1u);
  BOOST_TEST(env->warnings()[0] == dir + "/.env is readable by group or others (mode 644); run: chmod 600 " + dir + "/.env");
  ::chmod((dir + "/.env").c_str(), 0600);
  BOOST_TEST(EnvCredentials::Load(dir + "/.env", {})->warnings().empty());
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(ProviderWithoutStoredProfilesUsesTheEnvironmentKey) {
  std::string dir = TempDir();
  EngineOptions o{.plugins = BuiltinPlugins()};
  o.state_dir = dir;  // no auth store at all
  o.environment = std::map<std::string, std::string>{{"ANTHROPIC_API_KEY", "sk-ant-api03-" + std::string(40, 'Q')}};
  auto e = Engine::Create(ParseConfig("{}"), nullptr, o);
  BOOST_REQUIRE(e.ok());
  auto route = (*e)->Handle({.text = "hi"});
  BOOST_REQUIRE(route.ok());
  BOOST_TEST(route->route->profiles == (std::vector<std::string>{"env:ANTHROPIC_API_KEY"}));
  BOOST_TEST((*e)->SecretFor("main", "env:ANTHROPIC_API_KEY").value() == "sk-ant-api03-" + std::string(40, 'Q'));
  auto status = (*e)->Handle({.text = "/model status"});
  BOOST_TEST(status->replies[0].text.find("auth: sk-ant-a...QQQQQQQQ (ANTHROPIC_API_KEY)") != std::string::npos);
  BOOST_TEST(status->replies[0].text.find(std::string(40, 'Q')) == std::string::npos);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(StoredProfilesComeBeforeTheEnvironmentKey) {
  std::string dir = TempDir();
  fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  EngineOptions o{.plugins = BuiltinPlugins()};
  o.state_dir = dir;
  o.environment = std::map<std::string, std::string>{{"ANTHROPIC_API_KEY", "sk-ant-env-zzzzzzzzzzzz"}};
  auto e = Engine::Create(*Config::Load(dir + "/modelpin.json"), nullptr, o);
  BOOST_REQUIRE(e.ok());
  BOOST_TEST((*e)->Handle({.text = "hi"})->route->profiles == (std::vector<std::string>{"anthropic:work", "anthropic:default"}));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(MemoryStoreRoundTripsEveryField) {
  MemorySessionStore store;
  SessionState s;
  s.provider_override = "openrouter";
  s.model_override = "meta-llama/llama-3.3-70b-instruct";
  s.model_override_source = "user";
  s.model_override_route_resolution = "resolved";
  s.auth_profile_override = "openrouter:default";
  s.auth_profile_override_source = "auto";
  s.auth_profile_override_compaction_count = 0;
  s.live_model_switch_pending = false;
  s.agent_runtime_override = "openclaw";
  s.thinking_level = "high";
  s.plugin_state["verboseLevel"] = "on";
  BOOST_REQUIRE(store.Put("main", "k1", s).ok());
  BOOST_REQUIRE(store.Put("ops", "k1", SessionState{}).ok());  // empty: nothing stored
  BOOST_TEST((store.Get("main", "k1").value() == s));
  BOOST_TEST(store.Get("ops", "k1").value().empty());
  BOOST_TEST(store.size() == 1u);
  SessionState t = s;
  t.model_override = "moonshotai/kimi-k2.6";
  t.plugin_state.clear();
  t.live_model_switch_pending = true;
  BOOST_REQUIRE(store.Put("main", "k1", t).ok());
  BOOST_TEST((store.Get("main", "k1").value() == t));
  BOOST_REQUIRE(store.Put("main", "k1", SessionState{}).ok());
  BOOST_TEST(store.size() == 0u);
  BOOST_TEST(store.Keys("main").value().empty());
}

// ---- replies are safe to send ----

BOOST_FIXTURE_TEST_CASE(EchoedUserInputIsOneLineBoundedAndValidUtf8, EngineFixture) {
  auto e = Make();
  // A quoted model may hold anything JSON can encode: line breaks, control characters, markup.
  auto sel = e->Handle({.text = "/model \"evil\\nline\\u0007<b>x<b>\"@\"anthropic:work\""});
  BOOST_REQUIRE(sel.ok());
  const std::string& ack = sel->replies.at(0).text;
  BOOST_TEST(ack.find('\n') == std::string::npos);
  BOOST_TEST(ack.find('\a') == std::string::npos);
  BOOST_TEST(ack.find("anthropic/evil\xEF\xBF\xBDline\xEF\xBF\xBD<b>x<b>") != std::string::npos);
  // ... and the provider part of a quoted "provider/model" is echoed the same way.
  auto other = e->Handle({.text = "/model \"a\\nb/c\"@\"anthropic:work\""});
  BOOST_TEST(other->replies.at(0).text == "Auth profile \"anthropic:work\" is for anthropic, not a\xEF\xBF\xBD" "b.");
  auto missing = e->Handle({.text = "/model opus@\"" + std::string(5000, 'p') + "\xff\""});
  BOOST_REQUIRE(missing.ok());
  BOOST_TEST(missing->replies.at(0).text.size() < 200u);
  BOOST_TEST(text::IsValidUtf8(missing->replies.at(0).text));
}

// text::Pieces appends its pieces in order after what the string holds, empty ones included,
// up to its capacity, with the string grown once.
BOOST_AUTO_TEST_CASE(PiecesAppendInOrderAfterTheStringsText) {
  std::string out = "ack:";
  text::Pieces<4> p;
  p.Add(" Model set to ");
  p.Add("");
  p.Add(std::string_view("sonnet (anthropic/claude-sonnet-4-5)x", 36));
  p.Add(".");
  BOOST_TEST(p.size() == 4u);
  p.AppendTo(out);
  BOOST_TEST(out == "ack: Model set to sonnet (anthropic/claude-sonnet-4-5).");
  text::Pieces<2> none;
  none.AppendTo(out);
  BOOST_TEST(out == "ack: Model set to sonnet (anthropic/claude-sonnet-4-5).");
  std::string long_piece(5000, 'z');
  text::Pieces<2> big;
  big.Add(long_piece);
  big.Add(long_piece);
  std::string grown;
  big.AppendTo(grown);
  BOOST_TEST(grown == long_piece + long_piece);
}

// The inline byte helpers (text::SameBytes, CopyShort, IsPrintableAscii, EqualsLower) against
// the plain definitions they replace, for every length 0..40 and a differing or odd byte at
// every position: the word tricks must not miss a byte at either end or in the overlap.
BOOST_AUTO_TEST_CASE(InlineByteHelpersAgreeWithThePlainDefinitions) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'a');
    for (size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    BOOST_TEST(text::SameBytes(a, std::string(a)));
    BOOST_TEST(!text::SameBytes(a, a + "x"));
    BOOST_TEST(text::IsPrintableAscii(a));
    std::string copy(n, '\0');
    text::CopyShort(copy.data(), a.data(), n);
    BOOST_TEST(copy == a);
    std::string upper = a;
    for (char& c : upper) c = static_cast<char>(c - 32);
    BOOST_TEST(text::EqualsLower(upper, a));
    for (size_t i = 0; i < n; ++i) {
      BOOST_TEST_INFO("length " << n << ", byte " << i);
      std::string b = a;
      b[i] = static_cast<char>(b[i] ^ 0x01);
      BOOST_TEST(!text::SameBytes(a, b));
      BOOST_TEST(!text::EqualsLower(b, a));
      for (char odd : {'\x01', '\x1F', '\x7F', '\x80', '\xC3', '\xFF'}) {
        std::string c = a;
        c[i] = odd;
        BOOST_TEST(!text::IsPrintableAscii(c));
        BOOST_TEST(!text::IsSafeReply(c + "\x01"));
      }
      std::string edge = a;
      edge[i] = ' ';
      BOOST_TEST(text::IsPrintableAscii(edge));
      edge[i] = '~';
      BOOST_TEST(text::IsPrintableAscii(edge));
    }
  }
  // Trim's quick return: a visible ASCII byte at both ends; anything else is trimmed as before.
  BOOST_TEST(text::Trim("a \u00A0b") == "a \u00A0b");
  BOOST_TEST(text::Trim("\u00A0ab") == "ab");
  BOOST_TEST(text::Trim("ab\u3000") == "ab");
  BOOST_TEST(text::Trim("\xC3\xA9") == "\xC3\xA9");
}

// IsSafeReply reads sixteen bytes at a time where it can: a bad byte at any place of a long
// text, in the first blocks, the eight-byte ones after them or the last bytes, is found.
BOOST_AUTO_TEST_CASE(SafeReplyFindsABadByteAtAnyPlaceOfALongText) {
  for (size_t n : {15u, 16u, 17u, 31u, 32u, 33u, 47u, 64u, 100u}) {
    const std::string printable(n, 'x');
    BOOST_TEST(text::IsSafeReply(printable));
    for (size_t i = 0; i < n; ++i) {
      for (std::string_view bad : {std::string_view("\x01"), std::string_view("\x7F"), std::string_view("\xC2\x85"),
                                   std::string_view("\xC3")}) {
        std::string text = printable;
        text.replace(i, std::min(bad.size(), n - i), bad);
        BOOST_TEST_INFO("length " << n << ", bad bytes at " << i);
        BOOST_TEST(!text::IsSafeReply(text));
      }
      std::string fine = printable;
      fine.replace(i, std::min<size_t>(2, n - i), "\xC3\xA9");
      if (i + 1 < n) BOOST_TEST(text::IsSafeReply(fine));
    }
  }
}

// RecycledBlocks hands a thread's freed blocks out again, keeps at most kKeep of them, takes
// blocks freed by another thread than the one that took them, and frees what it kept when its
// thread ends (the sanitized suite reports a leak otherwise). RecycledReply keeps one buffer.
BOOST_AUTO_TEST_CASE(RecycledBlocksAreReusedBoundedAndFreedWithTheirThread) {
  using Blocks = RecycledBlocks<48, 3>;
  std::vector<void*> taken;
  for (int i = 0; i < 5; ++i) taken.push_back(Blocks::Get());
  for (void* p : taken) Blocks::Put(p);
  BOOST_TEST(Blocks::kept() == 3u);  // two went back to the heap
  Blocks::Put(nullptr);  // ignored: never handed out later
  BOOST_TEST(Blocks::kept() == 3u);
  void* again = Blocks::Get();
  BOOST_TEST(again == taken[2]);  // the last one kept comes out first
  BOOST_TEST(Blocks::kept() == 2u);
  ::operator delete(again);
  while (Blocks::kept() > 0) ::operator delete(Blocks::Get());
  // Another thread takes blocks and frees one there (it keeps it, and frees it when it ends);
  // the others are freed here and join this thread's list.
  std::vector<void*> from_thread;
  size_t kept_there = 0;
  std::thread([&] {  // Boost.Test assertions stay on the test's thread
    for (int i = 0; i < 4; ++i) from_thread.push_back(Blocks::Get());
    Blocks::Put(Blocks::Get());
    kept_there = Blocks::kept();
  }).join();
  BOOST_TEST(kept_there == 1u);
  for (void* p : from_thread) Blocks::Put(p);
  BOOST_TEST(Blocks::kept() == 3u);  // the fourth went back to the heap: the list was full
  void* last = Blocks::Get();
  BOOST_TEST(last == from_thread[2]);
  ::operator delete(last);
  while (Blocks::kept() > 0) ::operator delete(Blocks::Get());

  std::string reply(200, 'r');
  const char* buffer = reply.data();
  RecycledReply::Give(std::move(reply));
  std::string next = RecycledReply::Take();
  BOOST_TEST(next.empty());
  BOOST_TEST(static_cast<const void*>(next.data()) == static_cast<const void*>(buffer));
  BOOST_TEST(RecycledReply::Take().capacity() <= 15u);  // nothing kept any more
  RecycledReply::Give(std::string(RecycledReply::kMaxBytes + 1, 'x'));  // too big to keep
  BOOST_TEST(RecycledReply::Take().capacity() <= 15u);
}

BOOST_AUTO_TEST_CASE(SafeReplyKeepsLinesDropsControlsAndBoundsSize) {
  BOOST_TEST(text::SafeReply("a\nb\tc") == "a\nb\tc");
  BOOST_TEST(text::SafeReply("a\x1b[31mb") == "a\xEF\xBF\xBD[31mb");
  BOOST_TEST(text::SafeReply("\xC3(") == "\xEF\xBF\xBD(");
  // C1 controls (U+0085 NEXT LINE) and the Unicode line separators are replaced too, like C0.
  BOOST_TEST(text::SafeReply("a\xC2\x85" "b") == "a\xEF\xBF\xBD" "b");
  BOOST_TEST(text::SafeReply("a\xE2\x80\xA8" "b\xE2\x80\xA9") == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  BOOST_TEST(text::IsSafeReply("caf\xC3\xA9 \xC2\xA0\xE2\x80\xA6 \xF0\x9F\x94\x91\n"));
  BOOST_TEST(!text::IsSafeReply("a\x7F"));
  BOOST_TEST(!text::IsSafeReply(std::string(10, 'x'), 9));
  // Past the eight-byte blocks, the text's last bytes: every length 8..24, with a control
  // character, DEL, a C1 control or a broken sequence at each of the last eight places.
  for (size_t n = 8; n <= 24; ++n) {
    const std::string printable(n, 'x');
    BOOST_TEST(text::IsSafeReply(printable));
    for (size_t back = 1; back <= 8; ++back) {
      for (std::string_view bad : {std::string_view("\x01"), std::string_view("\x7F"), std::string_view("\xC2\x85"),
                                   std::string_view("\xC3")}) {
        std::string text = printable.substr(0, n - back);
        text.append(bad);
        text.append(back > bad.size() ? back - bad.size() : 0, 'y');
        BOOST_TEST_INFO("length " << text.size() << ", bad bytes " << back << " from the end");
        BOOST_TEST(!text::IsSafeReply(text));
      }
      std::string fine = printable.substr(0, n - back) + "\xC3\xA9";
      BOOST_TEST(text::IsSafeReply(fine));
    }
  }
  std::string big = text::SafeReply(std::string(100000, 'x'));
  BOOST_TEST(big.size() <= 16u * 1024u);
  BOOST_TEST(big.substr(big.size() - 3) == "\xE2\x80\xA6");
  BOOST_TEST(text::EchoSafe("two\nlines") == "two\xEF\xBF\xBDlines");
}

// Oracle (probe by the grammar work, OpenClaw 2026.9.6): the resolver splits a quoted model's
// "@..." again and keeps the model part, so this pins anthropic/nosuchmodel with the profile.
BOOST_FIXTURE_TEST_CASE(QuotedProfileFormResplitsTheModelPart, EngineFixture) {
  auto e = Make();
  auto o = e->Handle({.text = "/model nosuchmodel@x@\"anthropic:work\""});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.at(0).text ==
             "Model set to anthropic/nosuchmodel for this session only; configured default unchanged. Auth profile set "
             "to anthropic:work.");
  BOOST_TEST(o->session.model_override.value_or("") == "nosuchmodel");
}

BOOST_FIXTURE_TEST_CASE(CarriageReturnsAreLineBreaks, EngineFixture) {
  auto e = Make();
  auto o = e->Handle({.text = "first line\r\n/model sonnet\rlast line"});
  BOOST_REQUIRE(o.ok());
  BOOST_REQUIRE(o->route.has_value());
  BOOST_TEST(o->route->text == "first line\nlast line");  // the directive's line is removed whole
  BOOST_TEST(o->session.model_override.value_or("") == "claude-sonnet-4-5");
}

BOOST_AUTO_TEST_CASE(TheNextLockedUpdateRemovesAKilledWritersTempFile) {
  std::string dir = TempDir();
  std::string path = dir + "/auth-profiles.json";
  BOOST_REQUIRE(ParseStore(kTwoAnthropic).Save(path).ok());
  std::string leftover = path + ".tmp-AbC123";  // as a writer killed before its rename leaves it
  { FILE* f = fopen(leftover.c_str(), "w"); fputs("{\"half\": ", f); fclose(f); }
  BOOST_REQUIRE(AuthStore::Update(path, [](AuthStore& s) {
    s.SetOrder("anthropic", {"a:key"});
    return absl::OkStatus();
  }).ok());
  BOOST_TEST(!fs::exists(leftover));
  BOOST_TEST(*AuthStore::Load(path)->Order("anthropic") == (std::vector<std::string>{"a:key"}));
  fs::remove_all(dir);
}

BOOST_FIXTURE_TEST_CASE(OverlongReferencesAreRefusedNotPinned, EngineFixture) {
  auto e = Make();
  auto o = e->Handle({.text = "/model " + std::string(4096, 'm')});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.at(0).is_error);
  BOOST_TEST(o->replies.at(0).text == "Model reference is too long (more than 512 bytes).");
  BOOST_TEST(o->session.empty());
  BOOST_TEST(!e->Handle({.text = "/model " + std::string(512, 'm')})->replies.at(0).is_error);
}

// OpenClaw echoes an accepted reference whole ("Model set to anthropic/<300 characters> ...");
// compatible mode does too, strict mode cuts the echo at 200 bytes.
BOOST_FIXTURE_TEST_CASE(LongReferencesAreEchoedWholeInCompatibleModeAndCutInStrictMode, StrictFixture) {
  const std::string id(300, 'm');
  auto compat = Make("{}", kExpiringStore, false)->Handle({.text = "/model anthropic/" + id});
  BOOST_REQUIRE(compat.ok());
  BOOST_TEST(compat->replies.at(0).text ==
             "Model set to anthropic/" + id + " for this session only; configured default unchanged.");
  auto strict = Make(R"({"models": {"providers": {"anthropic": {"models": [{"id": ")" + id + R"("}]}}}})",
                     kExpiringStore, true)->Handle({.text = "/model anthropic/" + id});
  BOOST_REQUIRE(strict.ok());
  const std::string& ack = strict->replies.at(0).text;
  BOOST_TEST(!strict->replies.at(0).is_error, ack);
  BOOST_TEST(ack.find(id) == std::string::npos);
  BOOST_TEST(ack.find("Model set to anthropic/" + std::string(150, 'm')) == 0u);
  BOOST_TEST(ack.find("\xE2\x80\xA6") != std::string::npos);  // the cut is marked with an ellipsis
}

// ---- the published catalog (engine/models/catalog.h), probed against OpenClaw 2026.9.6 ----

namespace {

const char* kCatalogConfig = R"({
  "agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"},
                          "models": {"openrouter/meta-llama/llama-3.3-70b-instruct": {"alias": "llama"}}}},
  "models": {"providers": {
    "anthropic": {"models": [{"id": "claude-opus-5", "name": "Claude Opus 5"}]},
    "openrouter": {"models": [{"id": "meta-llama/llama-3.3-70b-instruct"}, {"id": "moonshotai/kimi-k2.6"}]}}}})";

std::vector<std::string> Labels(const CatalogPlan& plan) {
  std::vector<std::string> out;
  for (const auto& row : plan.rows) out.push_back(row.ref.Label());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(EveryReferencedProviderCredentialedGivesTheConfigCatalogAlone) {
  Config c = ParseConfig(kCatalogConfig);
  CatalogPlan plan = PlanCatalog(c, c.Agent("main"), [](std::string_view) { return true; });
  BOOST_TEST(!plan.unscoped);
  BOOST_TEST(Labels(plan) == (std::vector<std::string>{"anthropic/claude-opus-5", "openrouter/meta-llama/llama-3.3-70b-instruct",
                                                       "openrouter/moonshotai/kimi-k2.6"}));
  // A provider nothing in the config refers to cannot trigger the unscoped build.
  plan = PlanCatalog(c, c.Agent("main"), [](std::string_view p) { return p != "google"; });
  BOOST_TEST(!plan.unscoped);
}

BOOST_AUTO_TEST_CASE(AReferencedProviderWithoutCredentialBringsInClaudeCliAndKeepsOnlyItsConfiguredRows) {
  Config c = ParseConfig(kCatalogConfig);
  CatalogPlan plan = PlanCatalog(c, c.Agent("main"), [](std::string_view p) { return p != "openrouter"; });
  BOOST_TEST(plan.unscoped);
  BOOST_TEST(plan.uncredentialed == (std::vector<std::string>{"openrouter"}));
  std::vector<std::string> expected = {"anthropic/claude-opus-5"};
  for (const auto& row : ClaudeCliCatalog()) expected.push_back(row.ref.Label());
  expected.push_back("openrouter/meta-llama/llama-3.3-70b-instruct");  // the alias keeps it; kimi is gone
  BOOST_TEST(Labels(plan) == expected);
  BOOST_TEST(ClaudeCliCatalog().size() == 9u);
  BOOST_TEST(ClaudeCliCatalog()[1].name == "Claude Opus 5 (Claude CLI)");
  BOOST_TEST(ThinkingProfileFor({}, ClaudeCliCatalog()[1].ref).start_level == "high");
  BOOST_TEST(ClaudeCliCatalog()[5].ref.model == "claude-opus-4-8");
  BOOST_TEST(ClaudeCliCatalog()[5].deprecated);
}

// ---- thinking profiles (what OpenClaw 2026.9.6 answers to /think on each model) ----

std::string Levels(const ThinkingProfile& p) { return absl::StrJoin(p.levels, ","); }

BOOST_AUTO_TEST_CASE(ThinkingProfilesOfTheClaudeFamilies) {
  auto profile = [](std::string provider, std::string model) { return ThinkingProfileFor({}, {provider, model}); };
  // Always thinking: no "off", a default of their own.
  BOOST_TEST(Levels(profile("anthropic", "claude-fable-5-1")) == "low,medium,high,xhigh,max");
  BOOST_TEST(profile("anthropic", "claude-opus-5-5").start_level == "medium");
  BOOST_TEST(profile("anthropic", "claude-mythos-5").start_level == "high");
  // "adaptive" ranks with "medium" and is listed after it.
  BOOST_TEST(Levels(profile("anthropic", "claude-sonnet-5")) == "off,minimal,low,medium,adaptive,high,xhigh,max");
  BOOST_TEST(Levels(profile("anthropic", "claude-opus-4-8")) == "off,minimal,low,medium,adaptive,high,xhigh,max");
  BOOST_TEST(profile("anthropic", "claude-opus-4-8").start_level == "off");
  BOOST_TEST(Levels(profile("anthropic", "claude-sonnet-4-6")) == "off,minimal,low,medium,adaptive,high,max");
  BOOST_TEST(profile("anthropic", "claude-sonnet-4-6").start_level == "adaptive");
  BOOST_TEST(Levels(profile("anthropic", "claude-opus-4-5")) == "off,minimal,low,medium,high");
  BOOST_TEST(Levels(profile("claude-cli", "claude-mythos-5")) == "off");
  BOOST_TEST(Levels(profile("google", "gemini-2.5-pro")) == "off,minimal,low,medium,adaptive,high");
  BOOST_TEST(Levels(profile("google", "gemini-3.1-pro-preview")) == "off,low,adaptive,high");
  BOOST_TEST(Levels(profile("openrouter", "x/y")) == "off,minimal,low,medium,high");
  // Deployment ids name their Claude model at the end.
  BOOST_TEST(ClaudeModelIdentity("us.anthropic.claude-opus-5-5-v1") == "claude-opus-5-5-v1");
  BOOST_TEST(ClaudeModelIdentity("Anthropic/Claude_Sonnet.4.6") == "claude-sonnet-4-6");
  BOOST_TEST(Levels(profile("anthropic", "us.anthropic.claude-fable-5-v1")) == "low,medium,high,xhigh,max");
  BOOST_TEST(Levels(profile("anthropic", "claude-fable-50")) == "off,minimal,low,medium,high");
}

BOOST_AUTO_TEST_CASE(ThinkingProfilesFromCatalogRows) {
  Config c = ParseConfig(R"({"models": {"providers": {
    "openrouter": {"models": [{"id": "meta-llama/llama-3.3-70b-instruct", "reasoning": false},
                              {"id": "openrouter/auto", "reasoning": false},
                              {"id": "moonshotai/kimi-k2.6", "reasoning": true},
                              {"id": "x/custom", "thinkingLevels": ["max", "low", "adaptive", "medium"], "thinkingDefault": "low"}]},
    "anthropic": {"models": [{"id": "claude-fable-5", "reasoning": false}, {"id": "claude-haiku-4-5", "reasoning": false}]}}}})");
  auto profile = [&](std::string provider, std::string model) { return ThinkingProfileFor(c.catalog(), {provider, model}); };
  BOOST_TEST(Levels(profile("openrouter", "meta-llama/llama-3.3-70b-instruct")) == "off");
  // "/model auto" selects the id "auto": it finds the row "openrouter/auto" by OpenClaw's key.
  BOOST_TEST(Levels(profile("openrouter", "auto")) == "off");
  BOOST_TEST(Levels(profile("openrouter", "Openrouter/auto")) == "off,minimal,low,medium,high");
  BOOST_TEST(profile("openrouter", "moonshotai/kimi-k2.6").start_level == "medium");
  // Given levels are put in rank order (ties as listed); the given default is used.
  BOOST_TEST(Levels(profile("openrouter", "x/custom")) == "low,adaptive,medium,max");
  BOOST_TEST(profile("openrouter", "x/custom").start_level == "low");
  // "reasoning": false does not take thinking from a model that always thinks.
  BOOST_TEST(Levels(profile("anthropic", "claude-fable-5")) == "low,medium,high,xhigh,max");
  BOOST_TEST(Levels(profile("anthropic", "claude-haiku-4-5")) == "off");
}

BOOST_AUTO_TEST_CASE(ThinkingLevelClampAndSpellings) {
  ThinkingProfile fable = ThinkingProfileFor({}, {"anthropic", "claude-fable-5"});
  BOOST_TEST(fable.Supported("off") == "low");        // below the lowest: the lowest but "off"
  BOOST_TEST(fable.Supported("adaptive") == "medium");  // the model's default
  BOOST_TEST(fable.Supported("ultra") == "max");
  ThinkingProfile generic = ThinkingProfileFor({}, {"anthropic", "claude-opus-4-5"});
  BOOST_TEST(generic.Supported("max") == "high");
  BOOST_TEST(generic.Supported("adaptive") == "medium");  // no default: by rank (30, as medium)
  BOOST_TEST(generic.Supported("low") == "low");
  ThinkingProfile off_only = ThinkingProfileFor({}, {"claude-cli", "claude-mythos-5"});
  BOOST_TEST(off_only.Supported("high") == "off");
  BOOST_TEST(NormalizeThinkingLevel("ON") == "low");
  BOOST_TEST(NormalizeThinkingLevel("x-high") == "xhigh");
  BOOST_TEST(NormalizeThinkingLevel("Extra_High") == "xhigh");
  BOOST_TEST(NormalizeThinkingLevel("auto") == "adaptive");
  BOOST_TEST(NormalizeThinkingLevel("none") == "off");
  BOOST_TEST(NormalizeThinkingLevel("think") == "minimal");
  BOOST_TEST(NormalizeThinkingLevel("ultrathink") == "high");
  BOOST_TEST(NormalizeThinkingLevel("hard") == "");
  BOOST_TEST(IsThinkingResetWord("Unpin"));
  BOOST_TEST(!IsThinkingResetWord("off"));
}

BOOST_AUTO_TEST_CASE(UnknownThinkingLevelsInTheCatalogAreErrors) {
  auto bad = Config::Parse("c.json", R"({"models": {"providers": {"p": {"models": [{"id": "m", "thinkingLevels": ["low", "hgh"]}]}}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find("c.json: $.models.providers.p.models[0].thinkingLevels[1] (") == 0);
  BOOST_TEST(std::string(bad.status().message()).find("unknown thinking level \"hgh\"") != std::string::npos);
  auto def = Config::Parse("c.json", R"({"models": {"providers": {"p": {"models": [{"id": "m", "thinkingDefault": "LOW"}]}}}})");
  BOOST_REQUIRE(!def.ok());
  BOOST_TEST(std::string(def.status().message()).find("thinkingDefault") != std::string::npos);
  auto reasoning = Config::Parse("c.json", R"({"models": {"providers": {"p": {"models": [{"id": "m", "reasoning": "yes"}]}}}})");
  BOOST_REQUIRE(!reasoning.ok());
  BOOST_TEST(std::string(reasoning.status().message()).find("$.models.providers.p.models[0].reasoning") != std::string::npos);
}

// An inline /think sets the level of that message's call only: the route says so, the session
// keeps its own level, and the next message has none.
BOOST_AUTO_TEST_CASE(InlineThinkIsForThatMessageOnly) {
  auto e = Engine::Create(ParseConfig(R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}}}})"),
                          nullptr, EngineOptions{.clock = std::make_shared<FakeClock>(kNow), .plugins = BuiltinPlugins()});
  BOOST_REQUIRE(e.ok());
  BOOST_REQUIRE((*e)->Handle({.text = "/think low"}).ok());
  auto inline_think = (*e)->Handle({.text = "explain this /think high"});
  BOOST_REQUIRE(inline_think.ok());
  BOOST_REQUIRE(inline_think->route.has_value());
  BOOST_TEST(inline_think->route->text == "explain this");
  BOOST_TEST(inline_think->route->thinking == "high");
  // OpenClaw's answer to the directive alone, sent before the run (its block reply).
  BOOST_REQUIRE_EQUAL(inline_think->replies.size(), 1u);
  BOOST_TEST(inline_think->replies[0].text == "Thinking level set to high.");
  BOOST_TEST(!inline_think->replies[0].is_error);
  BOOST_TEST(inline_think->session.thinking_level.value_or("") == "low");
  // The same level as the session's still applies to that call.
  auto same = (*e)->Handle({.text = "again /think low"});
  BOOST_REQUIRE(same.ok() && same->route.has_value());
  BOOST_TEST(same->route->thinking == "low");
  auto next = (*e)->Handle({.text = "and this"});
  BOOST_REQUIRE(next.ok() && next->route.has_value());
  BOOST_TEST(next->route->thinking.empty());
  // A level the model cannot use refuses the message, as a directive-only /think would.
  auto refused = (*e)->Handle({.text = "explain this /think max"});
  BOOST_REQUIRE(refused.ok());
  BOOST_TEST(!refused->route.has_value());
  BOOST_TEST(refused->replies.at(0).is_error);
}

BOOST_AUTO_TEST_CASE(CatalogStatusDeprecatedIsRead) {
  Config c = ParseConfig(R"({"models": {"providers": {"anthropic": {"models": [
    {"id": "a", "status": "deprecated"}, {"id": "b", "status": "active"}]}}}})");
  BOOST_TEST(c.catalog().at(0).deprecated);
  BOOST_TEST(!c.catalog().at(1).deprecated);
}

// Handle(message, out) reuses `out`: whatever the last message left there (replies, a route, a
// longer session) must not leak into the next outcome. Twin engines, one per form, same messages.
BOOST_AUTO_TEST_CASE(AReusedOutcomeEqualsAFreshOneAfterEveryKindOfMessage) {
  auto make = [] {
    auto config = Config::Load(testing::SourcePath("fixtures/state/modelpin.json"));
    BOOST_REQUIRE(config.ok());
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = testing::SourcePath("fixtures/state");
    o.clock = std::make_shared<FakeClock>(kNow);
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(*std::move(config), nullptr, o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  };
  auto fresh = make(), reused = make();
  Outcome out;
  const std::vector<InboundMessage> messages = {
      {.text = "hello"},
      {.text = "/model llama@openrouter:default"},
      {.session_key = "agent:main:a-much-longer-session-key-than-sso", .text = "hello there"},
      {.text = "hi"},
      {.text = "/model sonnet"},  // acknowledgements of other lengths, written into the last one's buffer
      {.text = "/model opus"},
      {.text = "/model anthropic/claude-sonnet-4-5 --once"},
      {.text = "/model status"},
      {.text = "/model nosuch/x"},
      {.text = "please /model default and go on"},
      {.agent_id = "MAIN", .text = "/models"},
      {.text = "think hard /think high"},
      {.text = "last one"},
  };
  for (const auto& m : messages) {
    auto want = fresh->Handle(m);
    BOOST_REQUIRE(want.ok());
    BOOST_REQUIRE(reused->Handle(m, out).ok());
    BOOST_TEST_CONTEXT(m.text) {
      BOOST_TEST(out.agent_id == want->agent_id);
      BOOST_TEST(out.session_key == want->session_key);
      BOOST_TEST((out.replies == want->replies));
      BOOST_TEST((out.session == want->session));
      BOOST_TEST(out.route.has_value() == want->route.has_value());
      if (out.route && want->route) {
        BOOST_TEST(out.route->text == want->route->text);
        BOOST_TEST((out.route->model == want->route->model));
        BOOST_TEST(out.route->profiles == want->route->profiles);
        BOOST_TEST(out.route->thinking == want->route->thinking);
      }
    }
  }
}
