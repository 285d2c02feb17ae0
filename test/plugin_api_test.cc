// The plugin seam: command metadata and the registry, /commands, reserved words from the
// registry, completion from metadata, and run-time plugins through the C ABI and its C++ wrapper
// (in process: PluginFromDescriptor runs the same checks as LoadPlugin after dlopen).
#define BOOST_TEST_MODULE plugin_api
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <modelpin/cli/line_editor.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/engine/turn/plugin_loader.h>
#include <modelpin/plugin.hpp>
#include <modelpin/plugin_v2.h>
#include <modelpin/plugins/builtin.h>
#include <modelpin/plugins/model/model_plugin.h>
#include <modelpin/plugins/think/think_plugin.h>
#include <modelpin/plugins/verbose/verbose_plugin.h>
#include "test/golden.h"

namespace fs = std::filesystem;
using namespace modelpin;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;

// "/secret" (owner-only) and "/tally", answered in process.
class FakePlugin : public Plugin {
 public:
  std::string_view name() const override { return "fake"; }
  std::vector<CommandInfo> Commands() const override {
    return {{.name = "tally", .summary = "Fake usage."}, {.name = "secret", .summary = "Owners.", .owner_only = true}};
  }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext&) const override {
    if (text == "/tally") return std::vector<Reply>{{"fake usage", false}};
    return std::nullopt;
  }
};

// The C++ wrapper's plugin: replies with the route and counts itself in "count.n".
class Counter {
 public:
  bool Handle(const sdk::Turn& turn, sdk::Result& result) {
    if (turn.text().substr(0, 6) != "/count") return false;
    std::string out = std::string(turn.provider()) + "/" + std::string(turn.model());
    for (size_t i = 0; i < turn.profile_count(); ++i) {
      sdk::Profile p = turn.profile(i);
      out += " " + std::string(p.id) + "=" + std::string(p.masked) + ":" + std::to_string(p.error_count);
    }
    int n = std::stoi(std::string(turn.Field("count.n").value_or("0"))) + 1;
    result.Reply(out + " n=" + std::to_string(n));
    result.Set("count.n", std::to_string(n));
    return true;
  }
};
const modelpin_command_v1 kCounterCommands[] = {sdk::Command("count", "Count.", "/count")};

std::string TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "modelpin-plugin-XXXXXX").string();
  BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

std::unique_ptr<Engine> MakeEngine(PluginRegistry plugins, const std::string& config_json = "{}",
                                   std::unique_ptr<SessionStore> sessions = nullptr, const std::string& state = "") {
  auto config = Config::Parse("test.json", config_json);
  BOOST_REQUIRE(config.ok());
  EngineOptions o{.state_dir = state, .clock = std::make_shared<FakeClock>(kNow), .plugins = std::move(plugins)};
  o.environment = std::map<std::string, std::string>{};
  auto e = Engine::Create(*std::move(config), std::move(sessions), o);
  BOOST_REQUIRE(e.ok());
  return *std::move(e);
}

}  // namespace

MODELPIN_EXPORT_PLUGIN(Counter, "count", "1.0.0", kCounterCommands)

BOOST_AUTO_TEST_CASE(RegistryIndexesWordsAndRefusesTakenOnes) {
  PluginRegistry r = BuiltinPlugins();
  for (const char* w : {"think", "thinking", "t", "verbose", "v", "model", "models", "queue", "usage", "commands"})
    BOOST_TEST(r.IsCommandWord(w), w);
  BOOST_TEST(!r.IsCommandWord("tally"));
  BOOST_TEST(r.Add(std::make_shared<FakePlugin>()).ok());
  BOOST_TEST(r.IsCommandWord("tally"));
  absl::Status again = r.Add(std::make_shared<FakePlugin>());
  BOOST_TEST(std::string(again.message()) ==
             "the built-in plugin \"fake\": the name \"fake\" is taken by the built-in plugin \"fake\"");
  BOOST_TEST(r.plugins().size() == 7u);
}

// "/model" (and an alias "u") from a plugin of another name: the clash names both sides.
class ClashingPlugin : public Plugin {
 public:
  explicit ClashingPlugin(std::string word) : word_(std::move(word)) {}
  std::string_view name() const override { return "clash"; }
  std::vector<CommandInfo> Commands() const override { return {{.name = "mine"}, {.name = "other", .aliases = {word_}}}; }

 private:
  std::string word_;
};

BOOST_AUTO_TEST_CASE(ACommandWordClashNamesBothPlugins) {
  PluginRegistry r = BuiltinPlugins();
  absl::Status st = r.Add(std::make_shared<ClashingPlugin>("model"));
  BOOST_TEST(std::string(st.message()) == "/model of the built-in plugin \"clash\" clashes with the built-in plugin \"model\"");
  BOOST_TEST(r.plugins().size() == 6u);
  BOOST_TEST(!r.IsCommandWord("mine"));  // nothing of a refused plugin is registered
  BOOST_TEST(r.Add(std::make_shared<FakePlugin>()).ok());
  st = r.Add(std::make_shared<ClashingPlugin>("TALLY"));
  BOOST_TEST(std::string(st.message()) == "/tally of the built-in plugin \"clash\" clashes with the built-in plugin \"fake\"");
}

BOOST_AUTO_TEST_CASE(WithoutPluginsEveryMessageIsOrdinaryText) {
  auto e = MakeEngine(PluginRegistry{});
  auto o = e->Handle({.text = "/model sonnet"});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.empty());
  BOOST_REQUIRE(o->route.has_value());
  BOOST_TEST(o->route->text == "/model sonnet");
}

BOOST_AUTO_TEST_CASE(CommandsListsWhatTheSenderMayUse) {
  PluginRegistry r = BuiltinPlugins();
  BOOST_REQUIRE(r.Add(std::make_shared<FakePlugin>()).ok());
  auto e = MakeEngine(r, R"({"commands": {"ownerAllowFrom": ["+1"]}})");
  std::string others = e->Handle({.text = "/commands"})->replies.at(0).text;
  std::string owner = e->Handle({.text = "/commands", .sender = "+1"})->replies.at(0).text;
  BOOST_TEST(others.find("/think (/thinking, /t) — Show or set the session's thinking level.\n  /think [level]") !=
             std::string::npos);
  BOOST_TEST(others.find("/tally — Fake usage.") != std::string::npos);
  BOOST_TEST(others.find("/secret") == std::string::npos);
  BOOST_TEST(owner.find("/secret — Owners. (owner only)") != std::string::npos);
}

// An alias named like a command is no shorthand, and the commands come from the
// registry: "/tally" is the alias while no plugin has the word, the plugin's command once one does.
BOOST_AUTO_TEST_CASE(ReservedWordsComeFromTheRegistry) {
  const std::string config = R"({"agents": {"defaults": {"models": {"anthropic/claude-sonnet-4-5": {"alias": "tally"}}}}})";
  auto plain = MakeEngine(BuiltinPlugins(), config);
  auto o = plain->Handle({.text = "/tally"});
  BOOST_TEST(o->replies.at(0).text.find("Model set to tally") != std::string::npos, o->replies.at(0).text);
  PluginRegistry r = BuiltinPlugins();
  BOOST_REQUIRE(r.Add(std::make_shared<FakePlugin>()).ok());
  auto with = MakeEngine(r, config);
  o = with->Handle({.text = "/tally"});
  BOOST_TEST(o->replies.at(0).text == "fake usage");
  BOOST_TEST(!o->session.model_override.has_value());
}

BOOST_AUTO_TEST_CASE(CompletionUsesDeclaredArguments) {
  cli::CompletionData d;
  const PluginRegistry builtins = BuiltinPlugins();
  for (const auto& c : builtins.commands()) {
    d.arguments["/" + c.name] = c.arguments;
    for (const auto& w : c.aliases) d.arguments["/" + w] = c.arguments;
  }
  BOOST_TEST(cli::CompleteChatWord("/verbose ", "f", d) == std::vector<std::string>{"full"});
  BOOST_TEST(cli::CompleteChatWord("/queue ", "st", d) == std::vector<std::string>{"steer"});
  BOOST_TEST(cli::CompleteChatWord("/t ", "hi", d) == std::vector<std::string>{"high"});
  BOOST_TEST(cli::CompleteChatWord("/model ", "st", d) == std::vector<std::string>{"status"});
  BOOST_TEST(cli::CompleteChatWord("hello ", "f", d).empty());
}

BOOST_AUTO_TEST_CASE(DescriptorChecksNameTheFileAndBothVersions) {
  modelpin_plugin_v1 d = *modelpin_plugin();
  d.abi_version = 3;
  auto p = PluginFromDescriptor(&d, "libx.so");
  BOOST_TEST(std::string(p.status().message()) ==
             "libx.so: built for modelpin plugin ABI version 3; this modelpin loads ABI versions 1 and 2");
  // An ABI 1 descriptor that claims ABI 2 is read no further than its struct_size.
  d = *modelpin_plugin();
  d.abi_version = 2;
  BOOST_TEST(std::string(PluginFromDescriptor(&d, "libx.so").status().message()).find(
                 "libx.so: malformed plugin descriptor: struct_size " + std::to_string(sizeof(modelpin_plugin_v1)) +
                 " is smaller than ABI version 2's") == 0);
  d = *modelpin_plugin();
  d.name = "Not A Name";
  BOOST_TEST(std::string(PluginFromDescriptor(&d, "libx.so").status().message()) ==
             "libx.so: malformed plugin descriptor: name is not of [a-z0-9_-]");
  BOOST_TEST(std::string(PluginFromDescriptor(nullptr, "libx.so").status().message()) ==
             "libx.so: not a modelpin plugin (modelpin_plugin returned NULL)");
}

// The wrapper's plugin sees the route with masked profiles and health, and its namespaced field
// is carried by both session stores (SQLite across a restart).
BOOST_AUTO_TEST_CASE(CppWrapperPluginSeesTheRouteAndKeepsItsFields) {
  const std::string dir = TempDir();
  fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  const std::string config = testing::ReadFile(dir + "/modelpin.json");
  auto registry = [] {
    PluginRegistry r = BuiltinPlugins();
    auto p = PluginFromDescriptor(modelpin_plugin(), "count");
    BOOST_REQUIRE(p.ok());
    BOOST_REQUIRE(r.Add(*std::move(p)).ok());
    return r;
  };
  for (bool sqlite : {false, true}) {
    std::unique_ptr<SessionStore> store;
    if (sqlite) store = *SqliteSessionStore::Open(dir + "/sessions.sqlite");
    auto e = MakeEngine(registry(), config, std::move(store), dir);
    auto o = e->Handle({.text = "/count"});
    BOOST_TEST(o->replies.at(0).text ==
               "anthropic/claude-opus-4-5 anthropic:work=token:sk-ant-o...BBBBBBBB:0 "
               "anthropic:default=sk-ant-a...AAAAAAAA:0 n=1");
    BOOST_TEST(o->session.plugin_state.at("count.n") == "1");
  }
  auto again = MakeEngine(registry(), config, *SqliteSessionStore::Open(dir + "/sessions.sqlite"), dir);
  BOOST_TEST(again->Handle({.text = "/count"})->replies.at(0).text.find("n=2") != std::string::npos);
  fs::remove_all(dir);
}

// ---- plugins do not name each other (docs/architecture.md) ----

namespace {

// Another plugin under a name of its own: everything else is `inner`'s.
class Renamed : public Plugin {
 public:
  Renamed(std::shared_ptr<const Plugin> inner, std::string name) : inner_(std::move(inner)), name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::vector<CommandInfo> Commands() const override { return inner_->Commands(); }
  bool AppliesLast() const override { return inner_->AppliesLast(); }
  uint32_t DirectiveEffects() const override { return inner_->DirectiveEffects(); }
  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext& ctx) const override {
    return inner_->FindDirective(text, ctx);
  }
  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    return inner_->ApplyDirective(hit, ctx);
  }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    return inner_->HandleCommand(text, ctx);
  }

 private:
  std::shared_ptr<const Plugin> inner_;
  std::string name_;
};

}  // namespace

// The model plugin moves a stored thinking level the new model cannot use (xhigh on sonnet
// becomes high), unless the message sets the level itself. It learns that from the effect the
// think plugin declares (DirectiveEffect::kSetsThinkingLevel), not from its name: a renamed think
// plugin behaves the same.
BOOST_AUTO_TEST_CASE(ARenamedThinkPluginStillSetsTheLevelOfAModelSwitch) {
  std::string dir = TempDir();
  fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  const std::string config_json = testing::ReadFile(dir + "/modelpin.json");
  for (const char* think_name : {"think", "reasoning-depth"}) {
    BOOST_TEST_CONTEXT("think plugin named " << think_name) {
      PluginRegistry plugins;
      BOOST_REQUIRE(plugins.Add(std::make_shared<Renamed>(MakeThinkPlugin(), think_name)).ok());
      BOOST_REQUIRE(plugins.Add(MakeVerbosePlugin()).ok());
      BOOST_REQUIRE(plugins.Add(MakeModelPlugin()).ok());
      auto e = MakeEngine(std::move(plugins), config_json, std::make_unique<MemorySessionStore>(), dir);
      auto say = [&](const std::string& text) {
        auto o = e->Handle({.text = text});
        BOOST_REQUIRE(o.ok());
        BOOST_REQUIRE(!o->replies.empty());
        return *std::move(o);
      };
      say("/model anthropic/claude-opus-5-5");
      BOOST_TEST(say("/think xhigh").replies[0].text == "Thinking level set to xhigh.");
      Outcome both = say("/think medium /model sonnet");
      BOOST_TEST(both.replies[0].text ==
                 "Thinking level set to medium. Model set to sonnet (anthropic/claude-sonnet-4-5) for this session "
                 "only; configured default unchanged.");
      BOOST_TEST(both.session.thinking_level.value_or("") == "medium");
      // Without a level in the message, the stored one moves to what the new model runs at.
      say("/model anthropic/claude-opus-5-5");
      say("/think xhigh");
      BOOST_TEST(say("/model sonnet").replies[0].text ==
                 "Model set to sonnet (anthropic/claude-sonnet-4-5) for this session only; configured default "
                 "unchanged. Thinking level set to high (xhigh not supported for anthropic/claude-sonnet-4-5).");
    }
  }
  fs::remove_all(dir);
}

// The load order an embedder gets from OpenEngine: the built-in plugins, its own, the config's
// plugins.load, then the extra files (the CLI's --plugin). test/plugins/bad_plugin.c built as
// test/libsecond.so and test/libbad.so.
// An embedder's own plugin: "/hello".
class HelloPlugin : public Plugin {
 public:
  std::string_view name() const override { return "hello"; }
  std::vector<CommandInfo> Commands() const override { return {{.name = "hello", .summary = "Says hello."}}; }
};

BOOST_AUTO_TEST_CASE(PluginsLoadBuiltInThenEmbeddersThenConfigThenExtraFiles) {
  const char* build = std::getenv("MODELPIN_BUILD_ROOT");
  BOOST_REQUIRE_MESSAGE(build && *build, "MODELPIN_BUILD_ROOT is not set: run through meson test");
  const std::string second = std::string(build) + "/test/libsecond.so", bad = std::string(build) + "/test/libbad.so";
  BOOST_REQUIRE_MESSAGE(fs::exists(second) && fs::exists(bad), "test/libsecond.so and test/libbad.so are not built");
  const std::string dir = TempDir();
  {
    std::ofstream(dir + "/modelpin.json") << R"({"plugins": {"load": [")" << second << R"("]}})";
  }
  EngineSetup setup{.state_dir = dir, .plugins = {std::make_shared<HelloPlugin>()}, .plugin_files = {bad}};
  setup.environment = std::map<std::string, std::string>{};
  auto engine = OpenEngine(std::move(setup));
  BOOST_REQUIRE_MESSAGE(engine.ok(), engine.status().message());
  std::vector<std::string> names;
  for (const auto& p : (*engine)->plugins().plugins()) names.emplace_back(p->name());
  BOOST_TEST(names == (std::vector<std::string>{"think", "verbose", "model", "queue", "usage", "commands", "hello", "second", "bad"}),
             boost::test_tools::per_element());
  BOOST_TEST((*engine)->plugins().plugins()[7]->source() == second);
  BOOST_TEST((*engine)->plugins().plugins()[6]->source().empty());
  // And each answers.
  auto out = (*engine)->Handle({.text = "/second"});
  BOOST_REQUIRE(out.ok());
  BOOST_REQUIRE_EQUAL(out->replies.size(), 1u);
  BOOST_TEST(out->replies[0].text == "second here");
  fs::remove_all(dir);
}

// ABI 2 grows by appending: a plugin built against a later minor (a bigger descriptor, commands
// with an appended field and so a bigger stride) loads, and its commands are read at their stride.
namespace {
struct CommandOfLaterMinor {
  modelpin_command_v2 c;
  uint64_t appended;  // a field this modelpin does not know
};
struct PluginOfLaterMinor {
  modelpin_plugin_v2 d;
  uint64_t appended;
};
int GrowHandle(void*, const modelpin_turn_v2* turn, const modelpin_host_v2* host, modelpin_result_v2* out) {
  std::string reply = "grown " + std::string(turn->command.data, turn->command.size) + " stride " +
                      std::to_string(turn->profile_stride >= sizeof(modelpin_profile_v2));
  host->reply(out, reply.data(), reply.size(), 0);
  return 1;
}
}  // namespace

BOOST_AUTO_TEST_CASE(Abi2DescriptorsOfALaterMinorLoadAndArraysAreReadAtTheirStride) {
  static const CommandOfLaterMinor kCommands[] = {
      {{sizeof(CommandOfLaterMinor), "grow", nullptr, 0, "Grows.", "/grow", nullptr, 0, 0, MODELPIN_DIRECTIVE_NONE, 0}, 1},
      {{sizeof(CommandOfLaterMinor), "more", nullptr, 0, "More.", "/more", nullptr, 0, 0, MODELPIN_DIRECTIVE_NONE, 0}, 2}};
  static const PluginOfLaterMinor kPlugin = {
      {MODELPIN_PLUGIN_ABI_V2, sizeof(PluginOfLaterMinor), MODELPIN_PLUGIN_ABI_V2_MINOR + 1, 0, MODELPIN_CAP_REPLY, "grow",
       "1", &kCommands[0].c, 2, sizeof(CommandOfLaterMinor), nullptr, nullptr, GrowHandle, nullptr, nullptr},
      7};
  auto p = PluginFromDescriptor(&kPlugin.d, "libgrow.so");
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().message());
  const auto commands = (*p)->Commands();
  BOOST_REQUIRE_EQUAL(commands.size(), 2u);
  BOOST_TEST(commands[1].name == "more");
  PluginRegistry r = BuiltinPlugins();
  BOOST_REQUIRE(r.Add(*std::move(p)).ok());
  auto e = MakeEngine(std::move(r));
  auto o = e->Handle({.text = "/more"});
  BOOST_REQUIRE(o.ok());
  BOOST_TEST(o->replies.at(0).text == "grown more stride 1");
  // A stride smaller than a command, and a command struct_size past the stride, are refused.
  PluginOfLaterMinor bad = kPlugin;
  bad.d.command_stride = sizeof(modelpin_command_v2) - 8;
  BOOST_TEST(std::string(PluginFromDescriptor(&bad.d, "libgrow.so").status().message()).find(
                 "libgrow.so: malformed plugin descriptor: command_stride ") == 0);
  static CommandOfLaterMinor wide[1] = {kCommands[0]};
  wide[0].c.struct_size = sizeof(CommandOfLaterMinor) + 8;
  bad = kPlugin;
  bad.d.commands = &wide[0].c;
  bad.d.command_count = 1;
  BOOST_TEST(std::string(PluginFromDescriptor(&bad.d, "libgrow.so").status().message()).find(
                 "libgrow.so: malformed plugin descriptor: command 0 has struct_size ") == 0);
  // A directive command without the directives capability is refused: it would silently never run.
  static CommandOfLaterMinor directive[1] = {kCommands[0]};
  directive[0].c.directive = MODELPIN_DIRECTIVE_CONSUME;
  bad = kPlugin;
  bad.d.commands = &directive[0].c;
  bad.d.command_count = 1;
  BOOST_TEST(std::string(PluginFromDescriptor(&bad.d, "libgrow.so").status().message()) ==
             "libgrow.so: malformed plugin descriptor: /grow is a directive but required_capabilities lacks "
             "MODELPIN_CAP_DIRECTIVES");
}

// The observer seam of the C++ Plugin interface (what an ABI 2 plugin's on_route/on_outcome ride
// on): told of every message that goes on to the model and every recorded outcome, never of a
// command; an observer that throws changes nothing and the next message is answered.
namespace {
class Watcher : public Plugin {
 public:
  std::string_view name() const override { return "watch"; }
  std::vector<CommandInfo> Commands() const override { return {}; }
  bool ObservesRoutes() const override { return true; }
  bool ObservesOutcomes() const override { return true; }
  void OnRoute(const InboundMessage& m, const Outcome& o, int64_t now) const override {
    seen->push_back("route " + m.sender + " " + o.route->model.Label() + " " + o.route->text + " " +
                    std::to_string(now == kNow));
    if (throws) throw std::runtime_error("observer bug");
  }
  void OnOutcome(const std::string& agent, const std::string& session, const CallReport& r, std::string_view provider,
                 int64_t) const override {
    seen->push_back("outcome " + agent + " " + session + " " + r.profile_id + " " + std::string(ErrorClassName(r.error)) +
                    " " + std::string(provider));
    if (throws) throw std::runtime_error("observer bug");
  }
  std::shared_ptr<std::vector<std::string>> seen = std::make_shared<std::vector<std::string>>();
  bool throws = false;
};
}  // namespace

BOOST_AUTO_TEST_CASE(ObserversSeeRoutesAndOutcomesAndCannotChangeTheAnswer) {
  const std::string dir = TempDir();
  fs::copy(testing::SourcePath("fixtures/state"), dir, fs::copy_options::recursive);
  const std::string config = testing::ReadFile(dir + "/modelpin.json");
  for (bool throws : {false, true}) {
    auto watcher = std::make_shared<Watcher>();
    watcher->throws = throws;
    PluginRegistry r = BuiltinPlugins();
    BOOST_REQUIRE(r.Add(watcher).ok());
    BOOST_TEST(r.route_observers().size() == 1u);
    BOOST_TEST(BuiltinPlugins().route_observers().empty());  // nothing to call without observers
    auto e = MakeEngine(std::move(r), config, nullptr, dir);
    auto o = e->Handle({.text = "hello there", .sender = "ann"});
    BOOST_REQUIRE(o.ok());
    BOOST_REQUIRE(o->route);
    auto think = e->Handle({.text = "/think high"});  // a command: no route, nothing observed
    BOOST_REQUIRE(think.ok());
    BOOST_TEST(!think->route.has_value());
    BOOST_TEST(e->ReportOutcome("main", "agent:main:main", o->route->profiles.front(), CallResult::kRateLimit).ok());
    auto next = e->Handle({.text = "again"});
    BOOST_REQUIRE(next.ok());
    BOOST_TEST(next->route.has_value());
    const std::vector<std::string> expected = {
        "route ann anthropic/claude-opus-4-5 hello there 1",
        "outcome main agent:main:main " + o->route->profiles.front() + " rate_limit anthropic",
        "route  anthropic/claude-opus-4-5 again 1"};
    BOOST_TEST(*watcher->seen == expected, boost::test_tools::per_element());
  }
}
