// Routing rules (config modelpin.routes, docs/routing.md): the session key parse, matching order,
// precedence (pin > rule > agent default), a rule's auth order for its sessions only, its memo,
// config errors with JSON paths, and what /model status and explain say. One rule per test.
#define BOOST_TEST_MODULE routes
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/config/routes.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/builtin.h>
#include "test/golden.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'796'126'400'000;  // 2026-12-01T12:00:00Z

// Groups default to sonnet on the work key only; cron keys use the api key; the third rule
// (every telegram session) would also match telegram groups, but comes after "groups".
constexpr const char* kRoutes = R"(, "modelpin": {"routes": [
    {"name": "groups", "match": {"chatType": "group"}, "model": "sonnet",
     "authOrder": {"anthropic": ["anthropic:work"]}},
    {"name": "cron", "match": {"sessionKey": "agent:*:cron:*"}, "authOrder": {"anthropic": ["anthropic:default"]}},
    {"name": "telegram", "match": {"channel": "telegram"}, "model": "openrouter/meta-llama/llama-3.3-70b-instruct"}]})";

std::string ConfigText(const std::string& extra = kRoutes) {
  return std::string(R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}, "models": {
    "anthropic/claude-opus-4-5": {"alias": "opus"}, "anthropic/claude-sonnet-4-5": {"alias": "sonnet"},
    "openrouter/meta-llama/llama-3.3-70b-instruct": {"alias": "llama"}}}}, "auth": {"profiles": {
    "anthropic:default": {"provider": "anthropic", "mode": "api_key"},
    "anthropic:work": {"provider": "anthropic", "mode": "token"},
    "openrouter:default": {"provider": "openrouter", "mode": "api_key"}}})") +
         extra + "}";
}

constexpr const char* kGroup = "agent:main:telegram:group:-100123";
constexpr const char* kCron = "agent:main:cron:nightly";
constexpr const char* kMain = "agent:main:main";

struct RoutesFixture {
  std::string dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  RoutesFixture() {
    std::string tmpl = (fs::temp_directory_path() / "modelpin-routes-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  }
  ~RoutesFixture() { fs::remove_all(dir); }
  std::unique_ptr<Engine> Make(const std::string& config_text = ConfigText()) {
    auto config = Config::Parse("test.json", config_text);
    BOOST_REQUIRE_MESSAGE(config.ok(), config.status().message());
    EngineOptions o{.plugins = BuiltinPlugins()};
    o.state_dir = dir;
    o.clock = clock;
    o.auth_recheck_ms = 0;
    o.environment = std::map<std::string, std::string>{};
    auto e = Engine::Create(*std::move(config), nullptr, o);
    BOOST_REQUIRE(e.ok());
    return *std::move(e);
  }
  std::string StorePath() const { return dir + "/agents/main/agent/auth-profiles.json"; }
};

Outcome Say(Engine& e, const std::string& text, const std::string& key = kMain) {
  auto o = e.Handle({.session_key = key, .text = text});
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
  return *std::move(o);
}

std::string FirstReply(const Outcome& o) { return o.replies.empty() ? "" : o.replies.front().text; }
std::string RouteModel(const Outcome& o) { return o.route ? o.route->model.Label() : "(no route)"; }
std::vector<std::string> Profiles(const Outcome& o) { return o.route ? o.route->profiles : std::vector<std::string>{}; }

// The config error for `routes` (the value of modelpin.routes), "" when it loads.
std::string RoutesError(const std::string& routes) {
  auto c = Config::Parse("c.json", ConfigText(R"(, "modelpin": {"routes": )" + routes + "}"));
  return c.ok() ? "" : std::string(c.status().message());
}

}  // namespace

// ---- the session key ----

BOOST_AUTO_TEST_CASE(SessionKeysGiveChatTypeAndChannel) {
  struct Case {
    const char* key;
    const char* chat_type;
    const char* channel;
  };
  const Case cases[] = {
      {"agent:main:main", "direct", ""},
      {"agent:main:main:thread:9", "direct", ""},
      {"agent:main:direct:+15550001", "direct", ""},
      {"agent:main:telegram:group:-100123", "group", "telegram"},
      {"agent:main:telegram:group:-100123:topic:7", "group", "telegram"},
      {"agent:ops:discord:channel:42:thread:9", "channel", "discord"},
      {"agent:main:whatsapp:direct:+1555", "direct", "whatsapp"},
      {"agent:main:slack:dm:U123", "direct", "slack"},
      {"agent:main:telegram:acct2:group:-5", "group", "telegram"},
      {"agent:main:xmpp:group:lobby@conference.example.org", "group", "xmpp"},
      {"AGENT:Main:Telegram:GROUP:1", "group", "Telegram"},
      {"agent:main:cron:nightly-report", "cron", "cron"},
      {"agent:main:hook:3f2a", "hook", "hook"},
      {"agent:main:matrix:room", "", "matrix"},
      {"telegram:group:7", "group", "telegram"},  // no agent: prefix (a bot's own chat ids)
      {"12345", "", "12345"},
      {"", "", ""},
      {"agent:main", "", ""},
  };
  for (const Case& c : cases) {
    SessionKeyInfo info = ParseSessionKey(c.key);
    BOOST_TEST(info.chat_type == c.chat_type, c.key);
    BOOST_TEST(info.channel == c.channel, c.key);
  }
}

BOOST_AUTO_TEST_CASE(SessionKeyGlobsMatchWithoutCase) {
  BOOST_TEST(GlobMatch("agent:*:telegram:group:*", "agent:main:Telegram:group:-100"));
  BOOST_TEST(GlobMatch("agent:main:cron:*", "agent:main:cron:"));
  BOOST_TEST(GlobMatch("agent:?ain:*", "agent:main:x"));
  BOOST_TEST(GlobMatch("*", ""));
  BOOST_TEST(GlobMatch("*:group:*:topic:*", "agent:main:tg:group:1:topic:2"));
  BOOST_TEST(!GlobMatch("agent:*:cron:*", "agent:main:telegram:group:cron"));
  BOOST_TEST(!GlobMatch("agent:main", "agent:main:main"));
  BOOST_TEST(!GlobMatch("agent:?:main", "agent::main"));
  BOOST_TEST(!GlobMatch("a*a", "a"));  // the first and last pieces may not overlap
  BOOST_TEST(GlobMatch("a*a", "aa"));
  BOOST_TEST(GlobMatch("*cron*", "agent:main:CRON:x"));
  BOOST_TEST(GlobMatch("*:b:*:b", "x:b:y:b:z:b"));  // pieces leftmost-first, the last at the end
  BOOST_TEST(!GlobMatch("*:b:*:b:*:b", "x:b:b"));
  BOOST_TEST(GlobMatch("**", "x"));
  BOOST_TEST(!GlobMatch("?", ""));
}

// ---- matching ----

BOOST_AUTO_TEST_CASE(TheFirstMatchingRuleWins) {
  auto c = Config::Parse("c.json", ConfigText());
  BOOST_REQUIRE(c.ok());
  const RouteRule* rule = MatchRoute(c->routes(), kGroup);
  BOOST_REQUIRE(rule != nullptr);
  BOOST_TEST(rule->name == "groups");  // not "telegram", which also matches
  rule = MatchRoute(c->routes(), "agent:main:telegram:direct:5");
  BOOST_REQUIRE(rule != nullptr);
  BOOST_TEST(rule->name == "telegram");
  BOOST_TEST(MatchRoute(c->routes(), kMain) == nullptr);
  BOOST_TEST(MatchRoute(c->routes(), "agent:main:discord:channel:1") == nullptr);
}

BOOST_AUTO_TEST_CASE(MatchFieldsAreAndedAndAnEmptyMatchMatchesEverything) {
  auto c = Config::Parse("c.json", ConfigText(R"(, "modelpin": {"routes": [
      {"name": "tg-groups", "match": {"channel": "Telegram", "chatType": "group"}, "model": "llama"},
      {"authOrder": {"anthropic": ["anthropic:default"]}}]})"));
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  BOOST_TEST(MatchRoute(c->routes(), kGroup)->name == "tg-groups");
  BOOST_TEST(MatchRoute(c->routes(), "agent:main:discord:group:1")->name == "routes[1]");  // default name
  BOOST_TEST(MatchRoute(c->routes(), kMain)->name == "routes[1]");
  BOOST_TEST(c->routes()[1].MatchText() == "every session");
  BOOST_TEST(c->routes()[0].MatchText() == "chat type group, channel telegram");
}

BOOST_AUTO_TEST_CASE(TheBotsChannelAndChatTypeReplaceWhatTheKeySays) {
  auto c = Config::Parse("c.json", ConfigText());
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(MatchRoute(c->routes(), "chat-77", "", "group")->name == "groups");
  BOOST_TEST(MatchRoute(c->routes(), "chat-77", "telegram", "")->name == "telegram");
  BOOST_TEST(MatchRoute(c->routes(), kGroup, "", "direct")->name == "telegram");
  BOOST_TEST(MatchRoute(c->routes(), "chat-77") == nullptr);
}

BOOST_FIXTURE_TEST_CASE(AnInboundMessagesChannelAndChatTypeChooseTheRule, RoutesFixture) {
  auto e = Make();
  auto o = e->Handle({.session_key = "room-1", .text = "hi", .chat_type = "group"});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->route->rule == "groups");
  BOOST_TEST(RouteModel(*o) == "anthropic/claude-sonnet-4-5");
}

// ---- precedence: the session's pin, then the rule, then the agent's default ----

BOOST_FIXTURE_TEST_CASE(APinBeatsTheRuleWhichBeatsTheAgentDefault, RoutesFixture) {
  auto e = Make();
  BOOST_TEST(RouteModel(Say(*e, "hello")) == "anthropic/claude-opus-4-5");  // no rule: the agent's
  Outcome o = Say(*e, "hello", kGroup);
  BOOST_TEST(RouteModel(o) == "anthropic/claude-sonnet-4-5");  // the rule's
  BOOST_TEST(o.route->rule == "groups");
  BOOST_TEST(!o.session.model_override);  // nothing is pinned by a rule
  Say(*e, "/model llama", kGroup);
  o = Say(*e, "hello", kGroup);
  BOOST_TEST(RouteModel(o) == "openrouter/meta-llama/llama-3.3-70b-instruct");  // the pin's
  BOOST_TEST(o.route->rule == "groups");
  // Back to the default: the rule's model, not the agent's.
  Say(*e, "/model default", kGroup);
  BOOST_TEST(RouteModel(Say(*e, "hello", kGroup)) == "anthropic/claude-sonnet-4-5");
  // The agent's default is an ordinary pin in a rule's session (it is not this session's default).
  Outcome pinned = Say(*e, "/model opus", kGroup);
  BOOST_TEST(pinned.session.model_override.value_or("") == "claude-opus-4-5");
  BOOST_TEST(RouteModel(Say(*e, "hello", kGroup)) == "anthropic/claude-opus-4-5");
  // The main session never saw any of it.
  BOOST_TEST(RouteModel(Say(*e, "hello")) == "anthropic/claude-opus-4-5");
  BOOST_TEST(Say(*e, "hello").route->rule.empty());
}

// ---- the rule's auth order ----

BOOST_FIXTURE_TEST_CASE(ARulesAuthOrderIsUsedForItsSessionsOnly, RoutesFixture) {
  auto e = Make();
  BOOST_TEST(Profiles(Say(*e, "hello", kCron)) == (std::vector<std::string>{"anthropic:default"}));
  BOOST_TEST(Profiles(Say(*e, "hello", kGroup)) == (std::vector<std::string>{"anthropic:work"}));
  BOOST_TEST(Profiles(Say(*e, "hello")) == (std::vector<std::string>{"anthropic:work", "anthropic:default"}));
  // A provider the rule names no order for keeps the agent's order.
  Say(*e, "/model llama", kCron);
  BOOST_TEST(Profiles(Say(*e, "hello", kCron)) == (std::vector<std::string>{"openrouter:default"}));
}

BOOST_FIXTURE_TEST_CASE(ARulesOrderReplacesTheStoredOrderAndIsFilteredTheSameWay, RoutesFixture) {
  // The stored order (models auth order set) puts default first; the groups rule still says work.
  std::string store = testing::ReadFile(StorePath());
  store.insert(store.rfind('}'), R"(, "order": {"anthropic": ["anthropic:default", "anthropic:work"]})");
  { std::ofstream(StorePath(), std::ios::trunc) << store; }
  auto e = Make(ConfigText(R"(, "modelpin": {"routes": [{"match": {"chatType": "group"},
      "authOrder": {"anthropic": ["anthropic:gone", "anthropic:work"]}}]})"));
  BOOST_TEST(Profiles(Say(*e, "hello")).front() == "anthropic:default");
  // A profile the store does not hold is left out, as in auth.order.
  BOOST_TEST(Profiles(Say(*e, "hello", kGroup)) == (std::vector<std::string>{"anthropic:work"}));
}

BOOST_FIXTURE_TEST_CASE(AUserPinWithAProfileStillGoesFirst, RoutesFixture) {
  auto e = Make();
  // anthropic:default is not in the groups rule's order: the user's pin still leads.
  Say(*e, "/model sonnet@anthropic:default", kGroup);
  BOOST_TEST(Profiles(Say(*e, "hello", kGroup)) == (std::vector<std::string>{"anthropic:default", "anthropic:work"}));
}

BOOST_FIXTURE_TEST_CASE(RuleOrdersAreMemoisedPerRuleAndDroppedWhenTheStoreChanges, RoutesFixture) {
  auto c = Config::Parse("c.json", ConfigText());
  BOOST_REQUIRE(c.ok());
  auto store = AuthStore::Load(StorePath());
  BOOST_REQUIRE(store.ok());
  AuthOrderMemo memo(&*c, &*store, kNow);
  const RouteRule& groups = c->routes()[0];
  const RouteRule& cron = c->routes()[1];
  const RouteRule& telegram = c->routes()[2];  // no authOrder: the agent's order
  const AuthOrder& agent = memo.For("anthropic", {}, kNow);
  const AuthOrder& g = memo.For("anthropic", {}, kNow, &groups);
  BOOST_TEST(g.ids == (std::vector<std::string>{"anthropic:work"}));
  BOOST_TEST((g.source == AuthOrder::Source::kRule));
  BOOST_TEST(memo.For("anthropic", {}, kNow, &cron).ids == (std::vector<std::string>{"anthropic:default"}));
  BOOST_TEST(&memo.For("anthropic", {}, kNow, &groups) == &g);  // memoised
  BOOST_TEST(&memo.For("anthropic", {}, kNow, &telegram) == &agent);
  BOOST_TEST(&memo.For("openrouter", {}, kNow, &groups) == &memo.For("openrouter", {}, kNow));

  // Through the engine: the store loses anthropic:work, and the rule's order follows on the next turn.
  auto e = Make();
  BOOST_TEST(Profiles(Say(*e, "hello", kGroup)) == (std::vector<std::string>{"anthropic:work"}));
  std::string text = testing::ReadFile(StorePath());
  size_t at = text.find("\"anthropic:work\"");
  text.erase(at, text.find("},", at) + 2 - at);
  { std::ofstream(StorePath(), std::ios::trunc) << text; }
  clock->Advance(1);
  // As with auth.order: an order none of whose profiles exists falls back to the store's.
  BOOST_TEST(Profiles(Say(*e, "hello", kGroup)) == (std::vector<std::string>{"anthropic:default"}));
}

BOOST_AUTO_TEST_CASE(AConfigWithoutRulesMatchesNothing) {
  auto c = Config::Parse("c.json", ConfigText(""));
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->routes().empty());
  BOOST_TEST(MatchRoute(c->routes(), kGroup, "telegram", "group") == nullptr);
}

// ---- config errors ----

BOOST_AUTO_TEST_CASE(BadRulesAreConfigErrorsNamingTheJsonPath) {
  struct Case {
    const char* routes;
    const char* path;     // the JSON path the error must name
    const char* message;  // and a part of its text
  };
  const Case cases[] = {
      {R"({"name": "x"})", "$.modelpin.routes ", "expected an array of rules"},
      {R"([3])", "$.modelpin.routes[0] ", "expected an object"},
      {R"([{"model": "opus"}, {"match": {"chatType": "room"}, "model": "opus"}])", "$.modelpin.routes[1].match.chatType ",
       "unknown chat type \"room\""},
      {R"([{"match": {"chatTyp": "group"}, "model": "opus"}])", "$.modelpin.routes[0].match.chatTyp ",
       "unknown key \"chatTyp\" (expected sessionKey, chatType, channel)"},
      {R"([{"model": "opus", "auth": {}}])", "$.modelpin.routes[0].auth ", "unknown key \"auth\""},
      {R"([{"match": {"sessionKey": 7}, "model": "opus"}])", "$.modelpin.routes[0].match.sessionKey ",
       "expected a string, found a number"},
      {R"([{"model": "gpt-9"}])", "$.modelpin.routes[0].model ", "model \"gpt-9\" does not resolve"},
      {R"([{"model": "anthropic/"}])", "$.modelpin.routes[0].model ", "does not resolve"},
      {R"([{"authOrder": {"anthropic": ["anthropic:work", "work"]}}])", "$.modelpin.routes[0].authOrder.anthropic[1] ",
       "malformed auth profile id \"work\""},
      {R"([{"authOrder": {"anthropic": "anthropic:work"}}])", "$.modelpin.routes[0].authOrder.anthropic ",
       "expected an array of strings"},
      {R"([{"name": "g", "match": {"chatType": "group"}}])", "$.modelpin.routes[0] ", "needs a \"model\", an \"authOrder\""},
      {R"([{"name": "g", "model": "opus"}, {"name": "g", "model": "llama"}])", "$.modelpin.routes[1].name ",
       "duplicate rule name \"g\""},
      {R"([{"name": "", "model": "opus"}])", "$.modelpin.routes[0].name ", "expected a rule name"},
  };
  for (const Case& c : cases) {
    std::string error = RoutesError(c.routes);
    BOOST_TEST(error.find(std::string("c.json: ") + c.path + "(") == 0u, c.routes << " -> " << error);
    BOOST_TEST(error.find(c.message) != std::string::npos, c.routes << " -> " << error);
  }
  BOOST_TEST(RoutesError(R"([{"model": "LLAMA"}, {"model": "anthropic/claude-haiku-4-5"}])").empty());
}

BOOST_AUTO_TEST_CASE(ARulesModelResolvesLikeTheAgentsDefault) {
  auto c = Config::Parse("c.json", ConfigText(R"(, "modelpin": {"routes": [{"model": "Sonnet"}, {"model": "OpenRouter/x/y"}]})"));
  BOOST_REQUIRE(c.ok());
  BOOST_TEST(c->routes()[0].model->Label() == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(c->routes()[1].model->Label() == "openrouter/x/y");
  // The rule's view of the agent has the rule's model as its default and the rest unchanged.
  const AgentView& view = c->RuleAgent("main", c->routes()[0]);
  BOOST_TEST(view.default_ref.Label() == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(view.models.size() == c->Agent("main").models.size());
  BOOST_TEST(c->Agent("main").default_ref.Label() == "anthropic/claude-opus-4-5");
}

// ---- what status and explain say ----

BOOST_FIXTURE_TEST_CASE(StatusNamesTheRuleOnlyWhenOneMatched, RoutesFixture) {
  auto e = Make();
  std::string status = FirstReply(Say(*e, "/model status", kGroup));
  BOOST_TEST(status.find("Current: anthropic/claude-sonnet-4-5\nDefault: anthropic/claude-sonnet-4-5\n"
                         "Rule: groups (chat type group)\nAgent: main\n") == 0u, status);
  // The rule's order is the auth line of its provider.
  BOOST_TEST(status.find("auth: anthropic:work=token:") != std::string::npos);
  BOOST_TEST(status.find("anthropic:default=sk-ant") == std::string::npos);
  std::string cron = FirstReply(Say(*e, "/model status", kCron));
  BOOST_TEST(cron.find("Rule: cron (session key agent:*:cron:*)\n") != std::string::npos);
  BOOST_TEST(cron.find("Default: anthropic/claude-opus-4-5\n") != std::string::npos);
  std::string main = FirstReply(Say(*e, "/model status"));
  BOOST_TEST(main.find("Rule:") == std::string::npos);
  BOOST_TEST(main.find("Default: anthropic/claude-opus-4-5\nAgent: main\n") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(ExplainNamesTheRuleThatGaveTheModelAndTheOrder, RoutesFixture) {
  auto e = Make();
  std::string text = FirstReply(Say(*e, "/model explain default", kGroup));
  BOOST_TEST(text.find("routing rule groups (chat type group) matches session " + std::string(kGroup) +
                       ": it gives the default model anthropic/claude-sonnet-4-5, auth order for anthropic") !=
                 std::string::npos,
             text);
  BOOST_TEST(text.find("selected anthropic/claude-sonnet-4-5 (this session's default, from its routing rule)") !=
                 std::string::npos,
             text);
  BOOST_TEST(text.find("order from routing rule groups, modelpin.routes[0].authOrder.anthropic") != std::string::npos);
  std::string none = FirstReply(Say(*e, "/model explain opus"));
  BOOST_TEST(none.find("no routing rule matches session agent:main:main") != std::string::npos, none);
  // Without rules in the config, explain says nothing about them.
  auto plain = Make(ConfigText(""));
  BOOST_TEST(FirstReply(Say(*plain, "/model explain opus")).find("routing rule") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(InspectSeesTheRuleOfTheSessionKey, RoutesFixture) {
  auto e = Make();
  std::string rule, model;
  BOOST_REQUIRE(e->Inspect("main", kCron, [&](TurnContext& ctx) {
                   rule = ctx.rule ? ctx.rule->name : "";
                   model = ctx.CurrentModel().Label();
                 }).ok());
  BOOST_TEST(rule == "cron");
  BOOST_TEST(model == "anthropic/claude-opus-4-5");
  BOOST_REQUIRE(e->Inspect("main", kGroup, [&](TurnContext& ctx) { model = ctx.CurrentModel().Label(); }).ok());
  BOOST_TEST(model == "anthropic/claude-sonnet-4-5");
}

BOOST_FIXTURE_TEST_CASE(ARulesModelBeatsAnAgentsOwnDefault, RoutesFixture) {
  std::string config = ConfigText(R"(, "modelpin": {"routes": [{"name": "work-cron", "match": {"sessionKey": "agent:work:cron:*"},
      "model": "sonnet"}]})");
  // agents.entries.work has its own default, llama.
  const std::string end_of_defaults = R"(}}}, "auth")";
  config.replace(config.find(end_of_defaults), end_of_defaults.size(),
                 R"(}}, "entries": {"work": {"model": "openrouter/meta-llama/llama-3.3-70b-instruct"}}}, "auth")");
  auto e = Make(config);
  auto say = [&](const std::string& key, const std::string& agent = "work") {
    auto o = e->Handle({.agent_id = agent, .session_key = key, .text = "hi"});
    BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
    return *std::move(o);
  };
  BOOST_TEST(RouteModel(say("agent:work:main")) == "openrouter/meta-llama/llama-3.3-70b-instruct");
  Outcome cron = say("agent:work:cron:daily");
  BOOST_TEST(RouteModel(cron) == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(cron.route->rule == "work-cron");
  // Another agent's cron sessions are not this rule's.
  BOOST_TEST(RouteModel(say("agent:main:cron:daily", "main")) == "anthropic/claude-opus-4-5");
}
