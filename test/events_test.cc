// The engine's events (engine/events/events.h) and what observe/ and calls/ build on them: the SSE
// fan-out with bounded queues, the Prometheus exposition (checked by promtool), signed webhooks
// with a durable outbox against a stand-in receiver that is down, slow, then back, and whole chat
// messages through a stand-in provider that answers 200, 429, 401, 529 as scripted.
#define BOOST_TEST_MODULE events
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/digest.h>
#include <modelpin/calls/chat.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/observe/event_hub.h>
#include <modelpin/observe/metrics.h>
#include <modelpin/observe/webhooks.h>
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "test/http_stub.h"
#include "test/open_for_test.h"

namespace fs = std::filesystem;
using namespace modelpin;
using modelpin::testing::HttpStub;
using modelpin::testing::MakeTempDir;
using modelpin::testing::OpenForTest;
using modelpin::testing::StubRequest;
using modelpin::testing::StubResponse;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15
const std::string kKey = "agent:main:main";

std::string TempDir() { return MakeTempDir("events"); }

struct Recorder : EventSink {
  std::mutex mu;
  std::vector<Event> events;
  void OnEvent(const Event& e) override {
    std::lock_guard lock(mu);
    events.push_back(e);
  }
  std::vector<Event> Of(EventKind kind) {
    std::lock_guard lock(mu);
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
  void Clear() {
    std::lock_guard lock(mu);
    events.clear();
  }
};

// A copy of fixtures/state whose config can be changed (JSON pointer-ish edits) before opening.
struct StateFixture {
  std::string dir = TempDir();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  std::shared_ptr<Recorder> recorder = std::make_shared<Recorder>();
  rapidjson::Document config;
  std::vector<std::shared_ptr<const Plugin>> plugins;  // the embedder's own, for Open()

  StateFixture() {
    fs::copy(fs::path(MODELPIN_SOURCE_ROOT) / "fixtures/state", dir, fs::copy_options::recursive);
    std::ifstream in(dir + "/modelpin.json");
    std::stringstream ss;
    ss << in.rdbuf();
    config.Parse(ss.str().c_str());
    BOOST_REQUIRE(!config.HasParseError());
  }
  ~StateFixture() { fs::remove_all(dir); }

  rapidjson::Value& Object(rapidjson::Value& parent, const char* name) {
    auto& a = config.GetAllocator();
    if (!parent.HasMember(name)) parent.AddMember(rapidjson::Value(name, a), rapidjson::Value(rapidjson::kObjectType), a);
    return parent[name];
  }
  void SetFallbacks() {
    auto& a = config.GetAllocator();
    rapidjson::Value& model = Object(Object(Object(config, "agents"), "defaults"), "model");
    rapidjson::Value list(rapidjson::kArrayType);
    list.PushBack(rapidjson::Value("openrouter/meta-llama/llama-3.3-70b-instruct", a), a);
    model.AddMember("fallbacks", list, a);
  }
  void SetBaseUrl(const char* provider, const std::string& url) {
    auto& a = config.GetAllocator();
    rapidjson::Value& p = Object(Object(Object(config, "models"), "providers"), provider);
    p.AddMember("baseUrl", rapidjson::Value(url.c_str(), a), a);
  }

  // `sqlite`: sessions in <dir>/sessions.sqlite instead of memory.
  std::unique_ptr<Engine> Open(std::shared_ptr<EventSink> sink = nullptr, bool sqlite = false) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    config.Accept(w);
    std::ofstream(dir + "/modelpin.json") << buf.GetString();
    EngineSetup setup;
    setup.sessions = sqlite ? EngineSetup::Sessions::kConfigured : EngineSetup::Sessions::kMemory;
    setup.events = sink ? sink : recorder;
    setup.plugins = plugins;
    return OpenForTest(dir, clock, std::move(setup));
  }
};

CallReport Report(const std::string& profile, ErrorClass error) {
  CallReport r;
  r.profile_id = profile;
  r.error = error;
  return r;
}

void RequireNoSecret(const std::string& text) {
  for (const char* s : {"sk-ant-api03-", "sk-ant-oat01-", "sk-or-v1-"})
    BOOST_TEST(text.find(s) == std::string::npos, "a secret in: " << text);
}

}  // namespace

// ---- the engine's events ----

BOOST_FIXTURE_TEST_CASE(PinChangesAreEvents, StateFixture) {
  auto e = Open();
  // An ordinary message pins the first profile automatically.
  BOOST_REQUIRE(e->Handle({.text = "hello"}).ok());
  auto pins = recorder->Of(EventKind::kPinChanged);
  BOOST_REQUIRE_EQUAL(pins.size(), 1u);
  BOOST_TEST(pins[0].Field("source") == "auto");
  BOOST_TEST(pins[0].Field("toProfile") == "anthropic:work");
  BOOST_TEST(pins[0].Field("fromProfile") == "");
  BOOST_TEST(pins[0].agent == "main");
  BOOST_TEST(pins[0].session == kKey);
  BOOST_TEST(pins[0].at_ms == kNow);
  // A second ordinary message changes nothing: no event.
  BOOST_REQUIRE(e->Handle({.text = "again"}).ok());
  BOOST_TEST(recorder->Of(EventKind::kPinChanged).size() == 1u);
  // /model pins a model and a profile.
  BOOST_REQUIRE(e->Handle({.text = "/model sonnet@anthropic:default"}).ok());
  pins = recorder->Of(EventKind::kPinChanged);
  BOOST_REQUIRE_EQUAL(pins.size(), 2u);
  BOOST_TEST(pins[1].Field("source") == "user");
  BOOST_TEST(pins[1].Field("fromProfile") == "anthropic:work");
  BOOST_TEST(pins[1].Field("toProfile") == "anthropic:default");
  BOOST_TEST(pins[1].Field("toModel") == "anthropic/claude-sonnet-4-5");
  // Another family's directive and a status query change no pin.
  BOOST_REQUIRE(e->Handle({.text = "/think high"}).ok());
  BOOST_REQUIRE(e->Handle({.text = "/model status"}).ok());
  BOOST_TEST(recorder->Of(EventKind::kPinChanged).size() == 2u);
  BOOST_TEST(pins[0].id != pins[1].id);
  // An unknown model passes (not strict): the pin changes, and says so.
  BOOST_REQUIRE(e->Handle({.text = "/model nosuchmodel"}).ok());
  pins = recorder->Of(EventKind::kPinChanged);
  BOOST_REQUIRE_EQUAL(pins.size(), 3u);
  BOOST_TEST(pins[2].Field("fromModel") == "anthropic/claude-sonnet-4-5");
  BOOST_TEST(pins[2].Field("toModel") == "anthropic/nosuchmodel");
}

BOOST_FIXTURE_TEST_CASE(CooldownsDisablesAndRecoveriesAreEvents, StateFixture) {
  auto e = Open();
  BOOST_REQUIRE(e->Handle({.text = "hello"}).ok());
  recorder->Clear();
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:work", ErrorClass::kRateLimit)).ok());
  auto started = recorder->Of(EventKind::kCooldownStarted);
  BOOST_REQUIRE_EQUAL(started.size(), 1u);
  BOOST_TEST(started[0].Field("profile") == "anthropic:work");
  BOOST_TEST(started[0].Field("provider") == "anthropic");
  BOOST_TEST(started[0].Field("error") == "rate_limit");
  BOOST_TEST(started[0].Field("until") == FormatUtc(kNow + 30'000));
  // Overloads change no health: no event.
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:default", ErrorClass::kOverloaded)).ok());
  BOOST_TEST(recorder->events.size() == 1u);
  // The cooldown's end is derived: the first turn after it passed announces it, once.
  BOOST_REQUIRE(e->Handle({.text = "still cooling"}).ok());
  BOOST_TEST(recorder->Of(EventKind::kCooldownEnded).empty());
  clock->Advance(31'000);
  BOOST_REQUIRE(e->Handle({.text = "after the cooldown"}).ok());
  auto ended = recorder->Of(EventKind::kCooldownEnded);
  BOOST_REQUIRE_EQUAL(ended.size(), 1u);
  BOOST_TEST(ended[0].Field("profile") == "anthropic:work");
  BOOST_TEST(ended[0].Field("until") == FormatUtc(kNow + 30'000));
  BOOST_TEST(ended[0].at_ms == kNow + 31'000);
  BOOST_REQUIRE(e->Handle({.text = "and again"}).ok());
  BOOST_TEST(recorder->Of(EventKind::kCooldownEnded).size() == 1u);
  // A success on the profile that failed: recovered.
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:work", ErrorClass::kOk)).ok());
  auto recovered = recorder->Of(EventKind::kProfileRecovered);
  BOOST_REQUIRE_EQUAL(recovered.size(), 1u);
  BOOST_TEST(recovered[0].Field("after") == "success");
  // A billing failure disables; its end is a recovery, derived like a cooldown's.
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:default", ErrorClass::kBilling)).ok());
  auto disabled = recorder->Of(EventKind::kProfileDisabled);
  BOOST_REQUIRE_EQUAL(disabled.size(), 1u);
  BOOST_TEST(disabled[0].Field("reason") == "billing");
  BOOST_TEST(disabled[0].Field("profile") == "anthropic:default");
  clock->Advance(11 * 60'000);
  BOOST_REQUIRE(e->Handle({.text = "later"}).ok());
  recovered = recorder->Of(EventKind::kProfileRecovered);
  BOOST_REQUIRE_EQUAL(recovered.size(), 2u);
  BOOST_TEST(recovered[1].Field("after") == "disable passed");
  BOOST_TEST(recovered[1].Field("profile") == "anthropic:default");
  // Every event is JSON with its id, instant, kind, agent and session, and no secret.
  std::set<std::string> ids;
  for (const Event& ev : recorder->events) {
    std::string json = ev.ToJson();
    RequireNoSecret(json);
    rapidjson::Document d;
    d.Parse(json.c_str());
    BOOST_REQUIRE(!d.HasParseError());
    BOOST_TEST(std::string(d["kind"].GetString()) == std::string(EventKindName(ev.kind)));
    BOOST_TEST(std::string(d["at"].GetString()) == FormatUtc(ev.at_ms));
    if (ev.kind != EventKind::kPinChanged) BOOST_TEST(d["fields"]["profile"].IsString());
    ids.insert(d["id"].GetString());
  }
  BOOST_TEST(ids.size() == recorder->events.size());
}

BOOST_FIXTURE_TEST_CASE(AFallbackIsAnEvent, StateFixture) {
  SetFallbacks();
  auto e = Open();
  for (const char* p : {"anthropic:work", "anthropic:default"})
    BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report(p, ErrorClass::kRateLimit)).ok());
  auto o = e->Handle({.text = "hello"});
  BOOST_REQUIRE(o.ok());
  BOOST_REQUIRE(o->route.has_value());
  BOOST_TEST(o->route->model.Label() == "openrouter/meta-llama/llama-3.3-70b-instruct");
  auto fb = recorder->Of(EventKind::kFallbackUsed);
  BOOST_REQUIRE_EQUAL(fb.size(), 1u);
  BOOST_TEST(fb[0].Field("from") == "anthropic/claude-opus-4-5");
  BOOST_TEST(fb[0].Field("to") == "openrouter/meta-llama/llama-3.3-70b-instruct");
  BOOST_TEST(fb[0].Field("profile") == "openrouter:default");
  BOOST_TEST(!fb[0].Field("reason").empty());
}

// Usage recorded through ReportOutcome (docs/usage-and-budgets.md): stored in the auth file,
// priced from the catalog, and a budget that warns once, is used up (the route skips the
// profile with the reason budget) and frees when its window passes.
BOOST_FIXTURE_TEST_CASE(ABudgetWarnsStopsTheProfileAndFreesWithItsWindow, StateFixture) {
  auto& a = config.GetAllocator();
  rapidjson::Document extra;
  extra.Parse(R"({"budgets": [{"profile": "anthropic:work", "tokens": 1000, "window": "5h", "warnAt": 0.5}]})");
  Object(config, "modelpin").CopyFrom(extra, a);
  rapidjson::Document providers;
  providers.Parse(R"({"anthropic": {"models": [{"id": "claude-opus-4-5", "cost": {"input": 5, "output": 25}}]}})");
  Object(Object(config, "models"), "providers").CopyFrom(providers, a);
  rapidjson::Document owners;
  owners.Parse(R"({"ownerAllowFrom": ["+1"]})");
  Object(config, "commands").CopyFrom(owners, a);
  auto e = Open();
  auto first = e->Handle({.text = "hello"});
  BOOST_REQUIRE(first.ok() && first->route.has_value());
  BOOST_TEST(first->route->profiles.front() == "anthropic:work");
  CallReport r = Report("anthropic:work", ErrorClass::kOk);
  r.usage = TokenUsage{400, 200};
  r.billed_model = "anthropic/claude-opus-4-5";
  recorder->Clear();
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, r).ok());  // 600 of 1000: past half
  BOOST_REQUIRE_EQUAL(recorder->Of(EventKind::kBudgetWarning).size(), 1u);
  BOOST_TEST(recorder->Of(EventKind::kBudgetWarning)[0].Field("used") == "600");
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:work", ErrorClass::kOk)).ok());  // no tokens
  BOOST_TEST(recorder->Of(EventKind::kBudgetWarning).size() == 1u);  // once
  BOOST_TEST(recorder->Of(EventKind::kBudgetExhausted).empty());
  // The ledger is in the auth file, priced: 400 * 5 + 200 * 25 per million.
  auto store = AuthStore::Load(dir + "/agents/main/agent/auth-profiles.json");
  BOOST_REQUIRE(store.ok());
  UsageStats u = store->Usage("anthropic:work");
  BOOST_TEST(u.usage.total.calls == 2);
  BOOST_TEST(u.usage.total.tokens.output == 200);
  BOOST_TEST(u.usage.total.cost_usd == 0.007, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(u.usage.total.CostKnown());
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, r).ok());  // 1200: used up
  auto used_up = recorder->Of(EventKind::kBudgetExhausted);
  BOOST_REQUIRE_EQUAL(used_up.size(), 1u);
  BOOST_TEST(used_up[0].Field("profile") == "anthropic:work");
  BOOST_TEST(used_up[0].Field("window") == "5h");
  BOOST_TEST(!used_up[0].Field("until").empty());
  // The next message goes to the other profile; the route explains the skipped one.
  auto next = e->Handle({.text = "again"});
  BOOST_REQUIRE(next.ok() && next->route.has_value());
  BOOST_TEST(next->route->profiles.front() == "anthropic:default");
  bool explained = false;
  for (const auto& [id, h] : e->RouteHealth("main", *next->route))
    if (id == "anthropic:work") explained = h.StateName() == "budget" && h.Text().find("over budget (tokens 1000") == 0;
  BOOST_TEST(explained);
  // /usage cost shows owners each profile's cost (1200 + 1200 tokens of 400 in / 200 out: $0.014).
  auto cost = e->Handle({.text = "/usage cost", .sender = "+1"});
  BOOST_REQUIRE(cost.ok() && cost->replies.size() == 1u);
  BOOST_TEST(cost->replies[0].text.find("anthropic:work: $0.0140 / $0.0140 (3 calls, 800 in / 400 out tokens today); "
                                        "over budget (tokens 1000 per 5h for profile anthropic:work) until ") !=
                 std::string::npos,
             cost->replies[0].text);
  auto not_owner = e->Handle({.text = "/usage cost", .sender = "+2"});
  BOOST_REQUIRE(not_owner.ok() && not_owner->replies.size() == 1u);
  BOOST_TEST(not_owner->replies[0].text.find("$") == std::string::npos);
  // OpenClaw's footer modes: /usage alone cycles off -> tokens -> full -> off.
  BOOST_TEST(e->Handle({.text = "/usage"})->replies.at(0).text == "⚙️ Usage footer: tokens.");
  BOOST_TEST(e->Handle({.text = "/usage"})->replies.at(0).text == "⚙️ Usage footer: full.");
  BOOST_TEST(e->Handle({.text = "/usage off"})->replies.at(0).text == "⚙️ Usage footer: off.");
  BOOST_TEST(e->Handle({.text = "/usage bogus"})->replies.at(0).text == "⚙️ Usage: /usage off|tokens|full|reset|cost");
  BOOST_TEST(e->Handle({.text = "/usage reset"})->replies.at(0).text == "⚙️ Usage footer: reset to default.");
  // Six hours later the window has freed it: usable again.
  clock->Set(kNow + 6 * 3'600'000);
  auto later = e->Handle({.text = "later"});
  BOOST_REQUIRE(later.ok() && later->route.has_value());
  for (const auto& [id, h] : e->RouteHealth("main", *later->route)) BOOST_TEST(h.StateName() != "budget", id);
}

BOOST_AUTO_TEST_CASE(AStoreReportsItsFailoverThroughTheHook) {
  Recorder r;
  EmitStoreFailover(&r, kNow, "redis-sentinel://:***@127.0.0.1:26379/mymaster", "127.0.0.1:6380", "127.0.0.1:6381",
                    "sentinel switch-master");
  EmitStoreFailover(nullptr, kNow, "x", "a", "b", "c");  // no sink: nothing, no crash
  BOOST_REQUIRE_EQUAL(r.events.size(), 1u);
  BOOST_TEST((r.events[0].kind == EventKind::kStoreFailedOver));
  BOOST_TEST(r.events[0].Field("to") == "127.0.0.1:6381");
  BOOST_TEST(r.events[0].ToJson().find("\"kind\":\"store_failed_over\"") != std::string::npos);
  EventKind k;
  BOOST_TEST(ParseEventKind("fallback_used", k));
  BOOST_TEST((k == EventKind::kFallbackUsed));
  BOOST_TEST(!ParseEventKind("fallback", k));
}

// ---- SSE fan-out ----

BOOST_AUTO_TEST_CASE(ASlowSubscriberDropsAndIsToldHowMany) {
  auto hub = std::make_shared<EventHub>(2);
  auto slow = hub->Subscribe();
  auto pins_only = hub->Subscribe({EventKind::kPinChanged});
  BOOST_TEST(hub->subscribers() == 2u);
  for (int i = 0; i < 5; ++i)
    hub->OnEvent({absl::StrCat("e", i), kNow + i, i == 4 ? EventKind::kPinChanged : EventKind::kCooldownStarted, "main",
                  "", {}});
  auto a = slow->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(a && a->event);
  BOOST_TEST(a->event->id == "e0");
  auto b = slow->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(b && b->event);
  BOOST_TEST(b->event->id == "e1");
  auto c = slow->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(c);
  BOOST_TEST(!c->event);
  BOOST_TEST(c->missed == 3u);
  BOOST_TEST(SseMissed(c->missed) == "event: missed\ndata: {\"missed\":3}\n\n");
  auto d = slow->Next(std::chrono::milliseconds(10));  // nothing: a keep-alive
  BOOST_REQUIRE(d);
  BOOST_TEST((!d->event && d->missed == 0));
  // After the drop the subscriber gets new events again.
  hub->OnEvent({"e5", kNow, EventKind::kFallbackUsed, "main", "", {{"from", "a"}}});
  auto f = slow->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(f && f->event);
  BOOST_TEST(SseFrame(*f->event).rfind("id: e5\nevent: fallback_used\ndata: {", 0) == 0);
  // The filtered subscriber saw only its kind.
  auto p = pins_only->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(p && p->event);
  BOOST_TEST(p->event->id == "e4");
  // A subscriber that goes away is removed; Close ends a waiting one.
  pins_only.reset();
  BOOST_TEST(hub->subscribers() == 1u);
  std::thread closer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hub->Close();
  });
  auto end = slow->Next(std::chrono::seconds(10));
  closer.join();
  BOOST_TEST(!end.has_value());
  BOOST_TEST(hub->subscribers() == 0u);
}

BOOST_FIXTURE_TEST_CASE(TheEngineFeedsTheHub, StateFixture) {
  auto hub = std::make_shared<EventHub>(16);
  auto sub = hub->Subscribe();
  auto e = Open(hub);
  BOOST_REQUIRE(e->Handle({.text = "hello"}).ok());
  auto n = sub->Next(std::chrono::milliseconds(0));
  BOOST_REQUIRE(n && n->event);
  BOOST_TEST((n->event->kind == EventKind::kPinChanged));
}

// ---- metrics ----

namespace {

// Runs `promtool check metrics` on `text`: its exit status and output.
std::pair<int, std::string> Promtool(const std::string& text) {
  std::string dir = TempDir();
  std::ofstream(dir + "/m.txt") << text;
  std::string cmd = "promtool check metrics < " + dir + "/m.txt 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  fs::remove_all(dir);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(MetricsPassPromtool, StateFixture) {
  auto metrics = std::make_shared<Metrics>();
  auto e = Open(metrics);
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, Report("anthropic:work", ErrorClass::kRateLimit)).ok());
  CallReport unpriced = Report("anthropic:default", ErrorClass::kOk);  // tokens, a model without a price
  unpriced.model = "anthropic/claude-sonnet-4-5";
  unpriced.usage = TokenUsage{1200, 350};
  BOOST_REQUIRE(e->ReportOutcome("main", kKey, unpriced).ok());
  metrics->RecordTurn(TurnKind::kText, 0.000004);
  metrics->RecordTurn(TurnKind::kText, 0.0002);
  metrics->RecordTurn(TurnKind::kCommand, 0.00002);
  metrics->RecordRoute("main", "anthropic", "anthropic:default");
  metrics->RecordOutcome("main", "anthropic", "anthropic:work", ErrorClass::kRateLimit);
  metrics->RecordOutcome("main", "anthropic", "anthropic:\"odd\\name\n", ErrorClass::kOk);  // escaped
  metrics->RecordStoreOp("redis", "get", true, 0.0003);
  metrics->RecordStoreOp("redis", "put", false, 0.2);
  metrics->OnEvent({"x", kNow, EventKind::kFallbackUsed, "main", kKey,
                    {{"from", "anthropic/claude-opus-4-5"}, {"to", "openrouter/x"},
                     {"reason", "every profile of anthropic/claude-opus-4-5 is cooling down or disabled (...)"}}});
  std::string text = metrics->Expose(ProfileGauges(*e), ProfileUsageGauges(*e));
  auto [status, out] = Promtool(text);
  BOOST_TEST(status == 0, "promtool: " << out << "\n" << text);
  auto has = [&](const std::string& line) {
    BOOST_TEST(text.find(line + "\n") != std::string::npos, "missing: " << line << "\n" << text);
  };
  has("modelpin_turns_total{kind=\"text\"} 2");
  has("modelpin_turns_total{kind=\"command\"} 1");
  has("modelpin_turn_duration_seconds_bucket{kind=\"text\",le=\"5e-06\"} 1");
  has("modelpin_turn_duration_seconds_count{kind=\"text\"} 2");
  has("modelpin_call_outcomes_total{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:work\",error=\"rate_limit\"} 1");
  has("modelpin_call_outcomes_total{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:\\\"odd\\\\name\\n\",error=\"ok\"} 1");
  has("modelpin_store_errors_total{store=\"redis\",op=\"put\"} 1");
  has("modelpin_store_duration_seconds_count{store=\"redis\",op=\"get\"} 1");
  has("modelpin_fallbacks_total{from=\"anthropic/claude-opus-4-5\",to=\"openrouter/x\",reason=\"unavailable\"} 1");
  has("modelpin_events_total{kind=\"cooldown_started\"} 1");
  has("modelpin_profile_state{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:work\",state=\"cooldown\"} 1");
  has("modelpin_profile_state{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:work\",state=\"ok\"} 0");
  has("modelpin_profile_seconds_until_usable{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:work\"} 30");
  has("modelpin_profile_seconds_until_usable{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:default\"} 0");
  // Usage per window (docs/events.md#metrics): the rate-limited call counts, costs a known 0; the
  // call with tokens of an unpriced model has no cost series, and counts as unpriced.
  const std::string work = "{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:work\",window=";
  const std::string def = "{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:default\",window=";
  has("modelpin_profile_calls" + work + "\"1d\"} 1");
  has("modelpin_profile_failures" + work + "\"30d\"} 1");
  has("modelpin_profile_cost_usd" + work + "\"5h\"} 0");
  has("modelpin_profile_calls" + def + "\"7d\"} 1");
  has("modelpin_profile_tokens" + def + "\"1d\",kind=\"input\"} 1200");
  has("modelpin_profile_tokens" + def + "\"1d\",kind=\"output\"} 350");
  has("modelpin_profile_unpriced_calls" + def + "\"1d\"} 1");
  BOOST_TEST(text.find("modelpin_profile_cost_usd" + def) == std::string::npos, "an unknown cost is written:\n" << text);
  RequireNoSecret(text);
  // promtool is not a rubber stamp: a broken exposition fails it.
  auto [bad, bad_out] = Promtool("# TYPE x counter\nx{a=\"1\" 1\n");
  BOOST_TEST(bad != 0, bad_out);
}

// The stores report what reaches their backend (EventSink::OnStoreOp) to the setup's sink: after
// some turns on the SQLite store the metrics count reads and writes with real durations, and
// promtool accepts the exposition. A cached read reaches nothing and counts nothing.
BOOST_FIXTURE_TEST_CASE(SqliteStoreOperationsReachTheMetrics, StateFixture) {
  auto metrics = std::make_shared<Metrics>();
  auto e = Open(std::make_shared<EventFanOut>(std::vector<std::shared_ptr<EventSink>>{metrics}), true);
  BOOST_REQUIRE(e->Handle({.text = "hello"}).ok());
  BOOST_REQUIRE(e->Handle({.text = "/model sonnet@anthropic:default"}).ok());
  BOOST_REQUIRE(e->Handle({.text = "again"}).ok());
  std::string text = metrics->Expose();
  auto count = [&](const std::string& series) -> double {
    size_t at = text.find(series + " ");
    BOOST_TEST_REQUIRE(at != std::string::npos, "missing: " << series << "\n" << text);
    return std::stod(text.substr(at + series.size() + 1));
  };
  BOOST_TEST(count("modelpin_store_operations_total{store=\"sqlite\",op=\"get\"}") == 1);  // then cached
  BOOST_TEST(count("modelpin_store_operations_total{store=\"sqlite\",op=\"put\"}") >= 1);
  BOOST_TEST(count("modelpin_store_duration_seconds_count{store=\"sqlite\",op=\"put\"}") >= 1);
  BOOST_TEST(count("modelpin_store_duration_seconds_sum{store=\"sqlite\",op=\"put\"}") > 0);
  BOOST_TEST(text.find("modelpin_store_errors_total{store=\"sqlite\"") == std::string::npos, text);
  auto [status, out] = Promtool(text);
  BOOST_TEST(status == 0, "promtool: " << out << "\n" << text);
}

BOOST_AUTO_TEST_CASE(LabelCardinalityIsBoundedAndDropsAreCounted) {
  Metrics m({.max_series = 2});
  for (int i = 0; i < 5; ++i) m.RecordRoute("main", "anthropic", absl::StrCat("anthropic:p", i));
  m.RecordRoute("main", "anthropic", "anthropic:p0");  // an existing series still counts
  std::string text = m.Expose();
  BOOST_TEST(text.find("modelpin_routes_total{agent=\"main\",provider=\"anthropic\",profile=\"anthropic:p0\"} 2\n") !=
             std::string::npos);
  BOOST_TEST(text.find("profile=\"anthropic:p2\"") == std::string::npos);
  BOOST_TEST(text.find("modelpin_metrics_series_dropped_total{family=\"modelpin_routes_total\"} 3\n") != std::string::npos,
             text);
  BOOST_TEST(Promtool(text).first == 0);
}

BOOST_AUTO_TEST_CASE(OddDurationsAreCountedNotUndefined) {
  Metrics m;
  m.RecordTurn(TurnKind::kError, std::nan(""));
  m.RecordTurn(TurnKind::kError, -1);
  m.RecordTurn(TurnKind::kError, 1e300);
  std::string text = m.Expose();
  BOOST_TEST(text.find("modelpin_turn_duration_seconds_bucket{kind=\"error\",le=\"5e-06\"} 2\n") != std::string::npos, text);
  BOOST_TEST(text.find("modelpin_turn_duration_seconds_count{kind=\"error\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("modelpin_turn_duration_seconds_sum{kind=\"error\"} 1000000000\n") != std::string::npos, text);
  BOOST_TEST(Promtool(text).first == 0);
}

BOOST_AUTO_TEST_CASE(RecordingFromManyThreadsLosesNothing) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10'000; ++i) {
        m.RecordTurn(TurnKind::kText, 0.00001);
        m.RecordOutcome("main", "anthropic", absl::StrCat("anthropic:", i % 3), ErrorClass::kOk);
      }
      (void)t;
    });
  for (auto& t : threads) t.join();
  std::string text = m.Expose();
  BOOST_TEST(text.find("modelpin_turns_total{kind=\"text\"} 40000\n") != std::string::npos);
  BOOST_TEST(text.find("modelpin_turn_duration_seconds_count{kind=\"text\"} 40000\n") != std::string::npos);
  BOOST_TEST(text.find("profile=\"anthropic:0\",error=\"ok\"} 13336\n") != std::string::npos);
}

// ---- webhooks ----

BOOST_AUTO_TEST_CASE(DigestsAreLibcryptosAndSignaturesVerify) {
  // FIPS 180-2's "abc", RFC 4231 test case 2.
  BOOST_TEST(Hex(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(Hex(HmacSha256("Jefe", "what do ya want for nothing?")) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  BOOST_TEST(Fingerprint("abc") == "ba7816bf");
  std::string sig = WebhookSignature("s3cret", "{\"id\":\"1\"}");
  BOOST_TEST(sig.rfind("sha256=", 0) == 0);
  BOOST_TEST(sig.size() == 7u + 64u);
  BOOST_TEST(VerifyWebhookSignature("s3cret", "{\"id\":\"1\"}", sig));
  BOOST_TEST(!VerifyWebhookSignature("s3cret", "{\"id\":\"2\"}", sig));
  BOOST_TEST(!VerifyWebhookSignature("other", "{\"id\":\"1\"}", sig));
  BOOST_TEST(!VerifyWebhookSignature("s3cret", "{\"id\":\"1\"}", sig.substr(0, 20)));
}

BOOST_AUTO_TEST_CASE(WebhookConfigIsCheckedWithItsJsonPath) {
  auto ok = Config::Parse("c.json", R"({"modelpin": {"webhooks": [{"url": "http://127.0.0.1:9/h", "events": ["pin_changed"], "secret": "s"},
                                                        {"url": "https://x/h", "events": ["*"], "secret": "t"}]}})");
  BOOST_REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  BOOST_REQUIRE_EQUAL(ok->webhooks().size(), 2u);
  BOOST_TEST(ok->webhooks()[0].events == std::vector<std::string>{"pin_changed"});
  BOOST_TEST(ok->webhooks()[1].events.empty());
  auto error = [](const std::string& json) {
    auto c = Config::Parse("c.json", json);
    BOOST_REQUIRE(!c.ok());
    return std::string(c.status().message());
  };
  BOOST_TEST(error(R"({"modelpin": {"webhooks": {}}})").find("$.modelpin.webhooks") != std::string::npos);
  BOOST_TEST(error(R"({"modelpin": {"webhooks": [{"url": "ftp://x", "secret": "s"}]}})").find("$.modelpin.webhooks[0].url") !=
             std::string::npos);
  std::string unknown = error(R"({"modelpin": {"webhooks": [{"url": "http://x", "events": ["pin"], "secret": "s"}]}})");
  BOOST_TEST(unknown.find("$.modelpin.webhooks[0].events[0]") != std::string::npos, unknown);
  BOOST_TEST(unknown.find("unknown event \"pin\"") != std::string::npos, unknown);
  std::string no_secret = error(R"({"modelpin": {"webhooks": [{"url": "http://x"}]}})");
  BOOST_TEST(no_secret.find("$.modelpin.webhooks[0]") != std::string::npos);
  BOOST_TEST(no_secret.find("secret") != std::string::npos);
  // The secret is never echoed, even in an error about it.
  std::string bad_key = error(R"({"modelpin": {"webhooks": [{"url": "http://x", "secret": "hunter2", "extra": 1}]}})");
  BOOST_TEST(bad_key.find("$.modelpin.webhooks[0].extra") != std::string::npos, bad_key);
  BOOST_TEST(bad_key.find("hunter2") == std::string::npos);
}

namespace {

Event MakeEvent(int i, EventKind kind = EventKind::kCooldownStarted) {
  return {NewEventId(), kNow + i, kind, "main", "", {{"profile", "anthropic:work"}, {"n", std::to_string(i)}}};
}

// The receiver's view: each request's event id, after checking its signature and headers.
std::vector<std::string> VerifiedIds(const std::vector<StubRequest>& requests, const std::string& secret) {
  std::vector<std::string> ids;
  for (const auto& r : requests) {
    BOOST_TEST(r.method == "POST");
    auto sig = r.headers.find("x-modelpin-signature");
    BOOST_REQUIRE(sig != r.headers.end());
    BOOST_TEST(VerifyWebhookSignature(secret, r.body, sig->second), "bad signature on " << r.body);
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    BOOST_REQUIRE(!d.HasParseError());
    BOOST_TEST(r.headers.at("x-modelpin-event-id") == d["id"].GetString());
    BOOST_TEST(r.headers.at("x-modelpin-event") == d["kind"].GetString());
    BOOST_TEST(d["at"].IsString());
    ids.push_back(d["id"].GetString());
  }
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_CASE(AReceiverDownSlowThenBackLosesNothing) {
  std::atomic<int> mode{0};  // 0 ok, 1 slow (answers after the sender's timeout), 2 HTTP 503
  HttpStub receiver([&](const StubRequest&) {
    StubResponse out;
    if (mode == 1) out.delay_ms = 400;
    if (mode == 2) out.status = 503;
    return out;
  });
  const std::string url = receiver.url("/hook");
  receiver.Stop();  // down: the port refuses connections
  std::string dir = TempDir();
  const std::string secret = "whsec-test";
  auto hooks = Webhooks::Open({{url, {}, secret}}, {.outbox_path = dir + "/webhooks.sqlite",
                                                    .initial_backoff_ms = 20,
                                                    .max_backoff_ms = 100,
                                                    .timeout_ms = 200,
                                                    .idle_poll_ms = 50});
  BOOST_REQUIRE_MESSAGE(hooks.ok(), hooks.status().message());
  (*hooks)->Start();
  std::vector<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    Event ev = MakeEvent(i);
    sent.push_back(ev.id);
    (*hooks)->OnEvent(ev);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  BOOST_TEST((*hooks)->stats().pending == 10u);
  BOOST_TEST((*hooks)->stats().failed_attempts >= 2u);  // retried, with backoff
  BOOST_TEST((*hooks)->stats().last_error.find(url) == 0u);
  // Up but slow, then failing: still nothing acknowledged, more events arrive meanwhile.
  mode = 1;
  receiver.Start();
  for (int i = 10; i < 15; ++i) {
    Event ev = MakeEvent(i);
    sent.push_back(ev.id);
    (*hooks)->OnEvent(ev);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  mode = 2;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  BOOST_TEST((*hooks)->stats().pending == 15u);
  // Back: everything arrives.
  mode = 0;
  for (int i = 0; i < 200 && (*hooks)->stats().pending > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*hooks)->Stop();
  BOOST_TEST((*hooks)->stats().pending == 0u);
  std::vector<std::string> got = VerifiedIds(receiver.requests(), secret);
  std::set<std::string> unique(got.begin(), got.end());
  for (const auto& id : sent) BOOST_TEST(unique.count(id) == 1u, "event " << id << " never arrived");
  // In order, after de-duplication by id (at least once: a slow answer may bring one twice).
  std::vector<std::string> first_seen;
  for (const auto& id : got)
    if (std::find(first_seen.begin(), first_seen.end(), id) == first_seen.end()) first_seen.push_back(id);
  BOOST_TEST(first_seen == sent);
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(TheOutboxSurvivesARestartAndIsBounded) {
  auto clock = std::make_shared<FakeClock>(kNow);
  HttpStub receiver([](const StubRequest&) { return StubResponse{}; });
  const std::string url = receiver.url("/hook");
  receiver.Stop();
  std::string dir = TempDir();
  WebhookOptions options{.outbox_path = dir + "/webhooks.sqlite", .max_outbox = 3, .clock = clock};
  std::vector<Config::WebhookConfig> config = {{url, {"cooldown_started"}, "k"}};
  {
    auto hooks = Webhooks::Open(config, options);
    BOOST_REQUIRE(hooks.ok());
    for (int i = 0; i < 4; ++i) (*hooks)->OnEvent(MakeEvent(i));
    (*hooks)->OnEvent(MakeEvent(9, EventKind::kPinChanged));  // not asked for: not queued
    BOOST_TEST((*hooks)->stats().pending == 3u);
    BOOST_TEST((*hooks)->stats().dropped == 1u);  // the outbox holds 3
    BOOST_TEST((*hooks)->DeliverDue() == 0u);     // down
    BOOST_TEST((*hooks)->NextDueMs() == kNow + 1'000);
  }  // the service stops
  struct stat st;
  BOOST_REQUIRE(::stat((dir + "/webhooks.sqlite").c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  receiver.Start();
  auto hooks = Webhooks::Open(config, options);  // restarted
  BOOST_REQUIRE(hooks.ok());
  BOOST_TEST((*hooks)->stats().pending == 3u);
  BOOST_TEST((*hooks)->DeliverDue() == 0u);  // the backoff holds, across the restart
  clock->Advance(1'000);
  BOOST_TEST((*hooks)->DeliverDue() == 3u);
  BOOST_TEST((*hooks)->stats().pending == 0u);
  auto requests = receiver.requests();
  BOOST_REQUIRE_EQUAL(requests.size(), 3u);
  VerifiedIds(requests, "k");
  BOOST_TEST(requests[0].headers.at("x-modelpin-attempt") == "2");
  // A bad outbox file is an error naming it.
  std::ofstream(dir + "/bad.sqlite") << std::string(200, 'x');
  auto bad = Webhooks::Open(config, {.outbox_path = dir + "/bad.sqlite"});
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find(dir + "/bad.sqlite") == 0u);
  fs::remove_all(dir);
}

// ---- whole chat messages through a stand-in provider ----

namespace {

// Answers like Anthropic's Messages API (and OpenAI's chat completions on /chat/completions),
// with the statuses of `script` first, then 200.
struct Provider {
  std::mutex mu;
  std::vector<int> script;
  HttpStub stub{[this](const StubRequest& r) { return Answer(r); }};
  StubResponse Answer(const StubRequest& r) {
    int status = 200;
    {
      std::lock_guard lock(mu);
      if (!script.empty()) status = script.front(), script.erase(script.begin());
    }
    StubResponse out;
    out.status = status;
    out.headers = {{"anthropic-ratelimit-requests-limit", "50"},
                   {"anthropic-ratelimit-requests-remaining", status == 429 ? "0" : "49"},
                   {"anthropic-ratelimit-tokens-reset", "2027-01-15T08:00:30Z"},
                   {"x-ratelimit-remaining-tokens", "12000"},
                   {"x-ratelimit-reset-requests", "6m0s"}};
    if (status == 429) out.headers.push_back({"retry-after", "7"});
    if (status != 200) out.body = R"({"type":"error","error":{"type":"x","message":"scripted"}})";
    else if (r.path == "/chat/completions")
      out.body = R"({"choices":[{"message":{"role":"assistant","content":"fallback says hi"}}]})";
    else out.body = R"({"content":[{"type":"text","text":"hi from the stand-in"}]})";
    return out;
  }
};

// Which fixture credential a request carried.
std::string CredentialOf(const StubRequest& r) {
  std::string auth = r.headers.count("x-api-key") ? r.headers.at("x-api-key") : "";
  if (r.headers.count("authorization")) auth = r.headers.at("authorization");
  if (auth.find("sk-ant-api03-") != std::string::npos) return "anthropic:default";
  if (auth.find("Bearer sk-ant-oat01-") == 0) return "anthropic:work";
  if (auth.find("Bearer sk-or-v1-") == 0) return "openrouter:default";
  return "?" + auth.substr(0, 12);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(ChatThroughRouteRotatesReportsAndFallsBack, StateFixture) {
  Provider provider;
  SetBaseUrl("anthropic", provider.stub.url());
  SetBaseUrl("openrouter", provider.stub.url());
  SetFallbacks();
  auto e = Open();
  // A command: replies, no call.
  auto cmd = ChatThroughRoute(*e, {.text = "/model status"});
  BOOST_REQUIRE(cmd.ok());
  BOOST_TEST(!cmd->outcome.replies.empty());
  BOOST_TEST(cmd->attempts.empty());
  BOOST_TEST(provider.stub.requests().empty());
  // 200: the answer, from the first profile (the work token, as a bearer token).
  auto first = ChatThroughRoute(*e, {.text = "hello"}, {.timeout_ms = 5'000});
  BOOST_REQUIRE(first.ok());
  BOOST_REQUIRE(first->answer.has_value());
  BOOST_TEST(*first->answer == "hi from the stand-in");
  BOOST_TEST(first->answered_profile == "anthropic:work");
  BOOST_TEST(CredentialOf(provider.stub.requests().back()) == "anthropic:work");
  BOOST_TEST(provider.stub.requests().back().path == "/v1/messages");
  const RateLimits& limits = first->attempts[0].answer.rate_limits;
  BOOST_TEST(limits.requests_limit.value_or(-1) == 50);
  BOOST_TEST(limits.requests_remaining.value_or(-1) == 49);
  BOOST_TEST(limits.tokens_remaining.value_or(-1) == 12000);
  BOOST_TEST(limits.tokens_reset == "2027-01-15T08:00:30Z");
  BOOST_TEST(limits.requests_reset == "6m0s");
  // 429 (Retry-After 7) on the work token, then 401 on the key: both reported, then the
  // fallback model answers.
  provider.script = {429, 401};
  recorder->Clear();
  auto second = ChatThroughRoute(*e, {.text = "and now?"}, {.timeout_ms = 5'000});
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE_EQUAL(second->attempts.size(), 3u);
  BOOST_TEST(second->attempts[0].profile == "anthropic:work");
  BOOST_TEST(second->attempts[0].answer.http_status == 429);
  BOOST_TEST(second->attempts[0].answer.retry_after_ms == 7'000);
  BOOST_TEST((second->attempts[0].answer.result == ErrorClass::kRateLimit));
  BOOST_TEST(second->attempts[0].reported);
  BOOST_TEST(second->attempts[1].profile == "anthropic:default");
  BOOST_TEST((second->attempts[1].answer.result == ErrorClass::kAuth));
  BOOST_TEST(second->attempts[2].model.Label() == "openrouter/meta-llama/llama-3.3-70b-instruct");
  BOOST_TEST(second->attempts[2].profile == "openrouter:default");
  BOOST_REQUIRE(second->answer.has_value());
  BOOST_TEST(*second->answer == "fallback says hi");
  BOOST_TEST(second->answered_by.provider == "openrouter");
  BOOST_TEST(provider.stub.requests().back().path == "/chat/completions");
  BOOST_TEST(recorder->Of(EventKind::kCooldownStarted).size() == 2u);
  // The reports rotated the engine: the next route starts on the fallback model.
  auto health = e->Auth("main");
  BOOST_REQUIRE(health.ok());
  // (A rate limit on one model cools down that model of the profile, as OpenClaw does.)
  BOOST_TEST((*health)->Usage("anthropic:work").model_cooldowns.count("anthropic/claude-opus-4-5") == 1u);
  BOOST_TEST((*health)->Usage("anthropic:default").error_count == 1);
  // 529 on every profile there is: overloaded is reported, changes no health, and the message
  // gets a failure text naming each profile, never a secret.
  clock->Advance(5 * 60'000);
  provider.script = {529, 529, 529};
  auto third = ChatThroughRoute(*e, {.text = "busy?"}, {.timeout_ms = 5'000});
  BOOST_REQUIRE(third.ok());
  BOOST_TEST(!third->answer.has_value());
  BOOST_TEST(third->attempts.size() == 3u);
  BOOST_TEST(third->failure.find("HTTP 529") != std::string::npos, third->failure);
  RequireNoSecret(third->failure);
  // A 400 is not the credential's fault: no other profile is tried.
  provider.script = {400};
  auto fourth = ChatThroughRoute(*e, {.text = "malformed?"}, {.timeout_ms = 5'000});
  BOOST_REQUIRE(fourth.ok());
  BOOST_TEST(fourth->attempts.size() == 1u);
  BOOST_TEST(!fourth->attempts[0].answer.result.has_value());
  // After every error path the next message is answered.
  auto fifth = ChatThroughRoute(*e, {.text = "still there?"}, {.timeout_ms = 5'000});
  BOOST_REQUIRE(fifth.ok());
  BOOST_REQUIRE(fifth->answer.has_value());
}

BOOST_FIXTURE_TEST_CASE(AProviderThatIsDownOrSlowIsATimeout, StateFixture) {
  Provider provider;
  provider.stub.SetHandler([](const StubRequest&) {
    StubResponse r;
    r.delay_ms = 500;
    return r;
  });
  SetBaseUrl("anthropic", provider.stub.url());
  auto e = Open();
  auto slow = ChatThroughRoute(*e, {.text = "hello"}, {.timeout_ms = 100});
  BOOST_REQUIRE(slow.ok());
  BOOST_REQUIRE(!slow->attempts.empty());
  BOOST_TEST((slow->attempts[0].answer.result == ErrorClass::kTimeout));
  BOOST_TEST(slow->attempts[0].answer.http_status == 0);
  BOOST_TEST(!slow->answer.has_value());
  provider.stub.Stop();
  auto down = ChatThroughRoute(*e, {.text = "hello?"}, {.timeout_ms = 1'000});
  BOOST_REQUIRE(down.ok());
  BOOST_TEST(!down->answer.has_value());
  BOOST_TEST(down->failure.find("The model call failed (") == 0u, down->failure);
}

BOOST_AUTO_TEST_CASE(RateLimitHeadersAreReadWithoutCase) {
  RateLimits l;
  BOOST_TEST(ReadRateLimitHeader("Anthropic-RateLimit-Output-Tokens-Remaining", " 77 ", l));
  BOOST_TEST(ReadRateLimitHeader("X-RateLimit-Limit-Requests", "500", l));
  BOOST_TEST(!ReadRateLimitHeader("content-type", "application/json", l));
  BOOST_TEST(ReadRateLimitHeader("x-ratelimit-remaining-requests", "not a number", l));
  BOOST_TEST(l.output_tokens_remaining.value_or(-1) == 77);
  BOOST_TEST(l.requests_limit.value_or(-1) == 500);
  BOOST_TEST(!l.requests_remaining.has_value());
  BOOST_TEST(l.any());
  BOOST_TEST(!RateLimits{}.any());
  BOOST_TEST((ClassifyStatus(402) == ErrorClass::kBilling));
  BOOST_TEST((ClassifyStatus(529) == ErrorClass::kOverloaded));
  BOOST_TEST(!ClassifyStatus(400).has_value());
}
