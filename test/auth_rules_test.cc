// The rules of the commands that change an agent's auth store (engine/turn/agent_store.h): which
// agent a command may name and who owns a change, the copy-on-write of a shared store, the ids an
// order may list, the fallback text, which secrets may be stored and how a stored one starts.
// The CLI verbs (cli/models_*_cmd.cc, cli/auth_cmd.cc) only parse and print around these.
#define BOOST_TEST_MODULE auth_rules
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>

#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/engine/turn/engine.h>
#include "test/golden.h"
#include "test/support.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

using testing::ParseConfig;
using testing::ParseStore;

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-auth-rules-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

void Write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::FILE* f = std::fopen(path.c_str(), "w");
  BOOST_REQUIRE(f != nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

const char* kShared = R"({"version": 1, "profiles": {
  "anthropic:work": {"type": "token", "provider": "anthropic", "token": "sk-ant-oat01-AAAAAAAAAAAAAAAAAAAA"},
  "openrouter:main": {"type": "api_key", "provider": "openrouter", "key": "sk-or-v1-BBBBBBBBBBBBBBBBBBBB"}},
  "usageStats": {"anthropic:work": {"lastUsed": 5, "errorCount": 2, "cooldownUntil": 99}},
  "lastGood": {"anthropic": "anthropic:work"},
  "futureKey": {"kept": true}})";

const char* kTwoAgents = R"({"agents": {"entries": {"main": {}, "work": {}}}})";

Credential ApiKey(const std::string& id, const std::string& provider, const std::string& key) {
  Credential c;
  c.id = id;
  c.type = "api_key";
  c.provider = provider;
  c.secret = key;
  return c;
}

std::unique_ptr<Engine> MakeEngine(const std::string& config_json, const std::string& state_dir) {
  EngineOptions o;
  o.state_dir = state_dir;
  o.environment = std::map<std::string, std::string>{};
  auto e = Engine::Create(ParseConfig(config_json), nullptr, o);
  BOOST_REQUIRE_MESSAGE(e.ok(), e.status().message());
  return *std::move(e);
}

}  // namespace

// ---- UpdateOwnStore: copy-on-write of a shared store ----

BOOST_AUTO_TEST_CASE(AnAgentWithoutItsOwnStoreStartsFromACopyOfTheStoreItReads) {
  const std::string dir = TempDir();
  const std::string shared = dir + "/agents/main/agent/auth-profiles.json";
  const std::string own = dir + "/agents/work/agent/auth-profiles.json";
  Write(shared, kShared);
  const std::string before = testing::ReadFile(shared);
  absl::Status st = UpdateOwnStore(own, shared, [](AuthStore& s) {
    BOOST_TEST(s.Find("anthropic:work") != nullptr);  // the shared store's credentials
    s.SetOrder("anthropic", {"anthropic:work"});
    return absl::OkStatus();
  });
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  auto copy = AuthStore::Load(own);
  BOOST_REQUIRE(copy.ok());
  BOOST_TEST(copy->exists());
  // Credentials, health, lastGood and unknown keys come along; the change is applied on top.
  BOOST_TEST(copy->profiles().size() == 2u);
  BOOST_TEST(copy->Usage("anthropic:work").error_count == 2);
  BOOST_TEST(*copy->LastGood("anthropic") == "anthropic:work");
  BOOST_TEST(copy->ToJson().find("futureKey") != std::string::npos);
  BOOST_TEST(*copy->Order("anthropic") == (std::vector<std::string>{"anthropic:work"}));
  // The store it read is left as it was; the copy is 0600 as every store with secrets.
  BOOST_TEST(testing::ReadFile(shared) == before);
  struct stat sb;
  BOOST_REQUIRE(::stat(own.c_str(), &sb) == 0);
  BOOST_TEST((sb.st_mode & 0777) == 0600u);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(AnAgentWithItsOwnStoreChangesOnlyThat) {
  const std::string dir = TempDir();
  const std::string shared = dir + "/shared.json";
  const std::string own = dir + "/own.json";
  Write(shared, kShared);
  Write(own, R"({"version": 1, "profiles": {"x:1": {"type": "api_key", "provider": "x", "key": "kkkkkkkkkkkk"}}})");
  BOOST_REQUIRE(UpdateOwnStore(own, shared, [](AuthStore& s) {
                  BOOST_TEST(s.exists());
                  BOOST_TEST(s.Find("anthropic:work") == nullptr);  // no copy over a store of its own
                  s.SetOrder("x", {"x:1"});
                  return absl::OkStatus();
                }).ok());
  auto after = AuthStore::Load(own);
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(after->profiles().size() == 1u);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(ARefusedChangeCreatesNoStore) {
  const std::string dir = TempDir();
  const std::string shared = dir + "/shared.json";
  const std::string own = dir + "/agents/work/agent/auth-profiles.json";
  Write(shared, kShared);
  absl::Status st = UpdateOwnStore(own, shared, [](AuthStore&) { return absl::NotFoundError("no such profile"); });
  BOOST_TEST(absl::IsNotFound(st));
  BOOST_TEST(!fs::exists(own));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(WithoutAnyStoreTheOwnStoreStartsEmpty) {
  const std::string dir = TempDir();
  const std::string own = dir + "/own.json";
  BOOST_REQUIRE(UpdateOwnStore(own, dir + "/missing.json", [](AuthStore& s) {
                  BOOST_TEST(s.profiles().empty());
                  StoreCredential(s, ApiKey("a:1", "anthropic", "sk-ant-api03-CCCCCCCCCCCC"));
                  return absl::OkStatus();
                }).ok());
  auto after = AuthStore::Load(own);
  BOOST_REQUIRE(after.ok());
  BOOST_TEST(after->Find("a:1") != nullptr);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(TheEngineFormCopiesTheDefaultAgentsStore) {
  const std::string dir = TempDir();
  Write(dir + "/agents/main/agent/auth-profiles.json", kShared);
  auto e = MakeEngine(kTwoAgents, dir);
  BOOST_TEST(e->EffectiveAuthStorePath("work") == dir + "/agents/main/agent/auth-profiles.json");
  BOOST_REQUIRE(UpdateOwnStore(*e, "work", [](AuthStore& s) {
                  s.ClearOrder("anthropic");
                  return absl::OkStatus();
                }).ok());
  BOOST_TEST(e->EffectiveAuthStorePath("work") == dir + "/agents/work/agent/auth-profiles.json");
  auto own = AuthStore::Load(dir + "/agents/work/agent/auth-profiles.json");
  BOOST_REQUIRE(own.ok());
  BOOST_TEST(own->profiles().size() == 2u);
  fs::remove_all(dir);
}

// ---- which agent, and who owns a change ----

BOOST_AUTO_TEST_CASE(KnownAgentRefusesUnknownAgentIds) {
  auto e = MakeEngine(kTwoAgents, "");
  auto unknown = KnownAgent(*e, "Nope");
  BOOST_TEST(absl::IsNotFound(unknown.status()));
  BOOST_TEST(unknown.status().message() == "Unknown agent id \"Nope\".");
  BOOST_TEST(*KnownAgent(*e, "WORK") == "work");  // case-insensitive
  BOOST_TEST(*KnownAgent(*e, "main") == "main");
  // Without --agent: the config's default agent (with two entries and no systemAgent, "main").
  BOOST_TEST(*KnownAgent(*e, "") == e->config().DefaultAgentId());
}

BOOST_AUTO_TEST_CASE(KnownAgentTakesMainAndTheDefaultAgentWithoutEntries) {
  auto e = MakeEngine(R"({"agents": {"entries": {"ops": {}}}})", "");
  BOOST_TEST(*KnownAgent(*e, "ops") == "ops");
  BOOST_TEST(*KnownAgent(*e, "main") == "main");  // always known
  BOOST_TEST(*KnownAgent(*e, "") == "ops");       // the only entry is the default agent
  BOOST_TEST(!KnownAgent(*e, "other").ok());
}

BOOST_AUTO_TEST_CASE(SeveralAgentsNeedAnExplicitOwnerForAChange) {
  Config two = ParseConfig(kTwoAgents);
  absl::Status st = RequireExplicitOwner(two, "");
  BOOST_TEST(absl::IsFailedPrecondition(st));
  BOOST_TEST(st.message() ==
             "Multiple agents are configured, but the model command has no explicit owner. Pass --agent <id>.");
  BOOST_TEST(RequireExplicitOwner(two, "work").ok());
  BOOST_TEST(RequireExplicitOwner(ParseConfig(R"({"agents": {"entries": {"work": {}}}})"), "").ok());
  BOOST_TEST(RequireExplicitOwner(ParseConfig("{}"), "").ok());
}

// ---- order ids and the fallback text ----

BOOST_AUTO_TEST_CASE(AnOrderListsOnlySavedProfilesOfItsProvider) {
  AuthStore s = ParseStore(kShared);
  BOOST_TEST(CheckOrderIds(s, {"anthropic:work"}, "anthropic", "~/x").ok());
  BOOST_TEST(CheckOrderIds(s, {}, "anthropic", "~/x").ok());
  BOOST_TEST(CheckOrderIds(s, {"anthropic:work"}, "claude-cli", "~/x").ok());  // one auth provider
  absl::Status missing = CheckOrderIds(s, {"anthropic:work", "anthropic:gone"}, "anthropic", "~/.modelpin/agents/main/agent");
  BOOST_TEST(absl::IsNotFound(missing));
  BOOST_TEST(missing.message() == "Auth profile \"anthropic:gone\" not found in ~/.modelpin/agents/main/agent. "
                                  "Run modelpin models status to see saved profiles.");
  absl::Status other = CheckOrderIds(s, {"openrouter:main"}, "anthropic", "~/x");
  BOOST_TEST(absl::IsInvalidArgument(other));
  BOOST_TEST(other.message() == "Auth profile \"openrouter:main\" is for openrouter, not anthropic.");
}

BOOST_AUTO_TEST_CASE(TheFallbackTextSaysWhatIsUsedWithoutAStoredOrder) {
  BOOST_TEST(OrderFallbackText(ParseConfig("{}"), "anthropic") == "selecting automatically");
  Config c = ParseConfig(R"({"auth": {"order": {"anthropic": ["a:1", "a:2"], "openrouter": []}}})");
  BOOST_TEST(OrderFallbackText(c, "anthropic") == "using order from config: a:1, a:2");
  BOOST_TEST(OrderFallbackText(c, "claude-cli") == "using order from config: a:1, a:2");  // its auth provider's
  BOOST_TEST(OrderFallbackText(c, "openrouter") == "config selects no profiles");
  BOOST_TEST(OrderFallbackText(ParseConfig(R"({"auth": {"order": {"Custom": ["c:1"]}}})"), "Custom") ==
             "using order from config: c:1");  // else as typed
}

// ---- secrets ----

BOOST_AUTO_TEST_CASE(OnlyNonEmptySecretsWithoutSpacesOrControlsAreStored) {
  BOOST_TEST(BadSecret("sk-ant-api03-abc_DEF-123", "API key") == "");
  BOOST_TEST(BadSecret("", "token") == "no token read from stdin");
  BOOST_TEST(BadSecret("sk-ant\x01x", "API key") == "the API key contains control characters");
  BOOST_TEST(BadSecret("sk-ant\x7fx", "token") == "the token contains control characters");
  BOOST_TEST(BadSecret("sk-ant x", "token") == "the token contains whitespace");
  BOOST_TEST(BadSecret("sk-ant\xc2\xa0x", "token") == "the token contains whitespace");  // U+00A0
}

BOOST_AUTO_TEST_CASE(AStoredSecretGetsTheManualIdByDefault) {
  BOOST_TEST(DefaultProfileId("anthropic") == "anthropic:manual");
}

BOOST_AUTO_TEST_CASE(AChangedSecretStartsHealthyAndTheSameSecretKeepsItsHealth) {
  AuthStore s = ParseStore(kShared);
  Credential same = *s.Find("anthropic:work");
  StoreCredential(s, same);
  BOOST_TEST(s.Usage("anthropic:work").error_count == 2);
  Credential changed = same;
  changed.secret = "sk-ant-oat01-ZZZZZZZZZZZZZZZZZZZZ";
  StoreCredential(s, changed);
  BOOST_TEST(s.Find("anthropic:work")->secret == changed.secret);
  BOOST_TEST((s.Usage("anthropic:work") == UsageStats{}));
  StoreCredential(s, ApiKey("new:1", "new", "kkkkkkkkkkkk"));
  BOOST_TEST(s.profiles().size() == 3u);
}

BOOST_AUTO_TEST_CASE(ClearedHealthKeepsLastUseAndUseCountOnly) {
  UsageStats u;
  u.last_used = 10;
  u.use_count = 3;
  u.cooldown_until = 100;
  u.disabled_until = 200;
  u.disabled_reason = "billing";
  u.error_count = 4;
  u.failure_counts["rate_limit"] = 2;
  u.last_failure_at = 50;
  u.model_cooldowns["anthropic/x"] = 300;
  UsageStats want;
  want.last_used = 10;
  want.use_count = 3;
  BOOST_TEST((ClearedHealth(u) == want));
}
