// Provider limits, the quota_aware strategy and probing (docs/rotation.md#quota_aware,
// docs/probing.md): the rules one by one, then probes through a stand-in provider on loopback
// that answers 200, 401 and 402 as scripted.
#define BOOST_TEST_MODULE quota
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include <modelpin/base/clock.h>
#include <modelpin/calls/model_call.h>
#include <modelpin/calls/probe.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/replay/replay.h>
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

constexpr int64_t kNow = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

Config ParseConfig(const std::string& text) {
  auto c = Config::Parse("cfg.json", text);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  return *std::move(c);
}

AuthStore Store() {
  return *AuthStore::Parse("auth.json", R"({"version": 1, "profiles": {
      "a:one": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-1111111111111111111"},
      "a:two": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-2222222222222222222"},
      "a:three": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-3333333333333333333"}}})");
}

ProviderLimits Left(int64_t requests, int64_t of, int64_t reset_at = 0) {
  ProviderLimits l;
  l.requests = {of, requests, reset_at};
  return l;
}

CallReport Ok(const std::string& profile, std::optional<ProviderLimits> limits = std::nullopt) {
  CallReport r;
  r.profile_id = profile;
  r.limits = limits;
  return r;
}

const Config& QuotaAware() {
  static const Config c = ParseConfig(R"({"modelpin": {"rotation": {"strategy": {"anthropic": "quota_aware"}}}})");
  return c;
}

using V = std::vector<std::string>;

}  // namespace

// ---- what the provider said ----

BOOST_AUTO_TEST_CASE(HeadersBecomeLimitsWithResetInstantsAndDurations) {
  RateLimits r;
  for (auto [k, v] : std::vector<std::pair<const char*, const char*>>{
           {"anthropic-ratelimit-requests-limit", "100"},
           {"anthropic-ratelimit-requests-remaining", "12"},
           {"anthropic-ratelimit-requests-reset", "2027-01-15T08:01:00Z"},
           {"anthropic-ratelimit-input-tokens-limit", "80000"},
           {"anthropic-ratelimit-input-tokens-remaining", "5000"}})
    BOOST_TEST(ReadRateLimitHeader(k, v, r));
  auto l = LimitsOf(r, kNow);
  BOOST_REQUIRE(l.has_value());
  BOOST_TEST(l->requests.limit == 100);
  BOOST_TEST(l->requests.remaining == 12);
  BOOST_TEST(l->requests.reset_at == kNow + 60'000);
  BOOST_TEST(l->input_tokens.remaining == 5000);
  BOOST_TEST(l->reported_at == kNow);
  BOOST_TEST(l->LeftFraction(kNow).value() == 0.0625);  // the smaller share: 5000/80000
  BOOST_TEST(l->Text(kNow) == "requests 12/100, input tokens 5000/80000");

  RateLimits o;  // OpenAI's names, resets as Go durations from now
  ReadRateLimitHeader("x-ratelimit-limit-tokens", "1000", o);
  ReadRateLimitHeader("x-ratelimit-remaining-tokens", "900", o);
  ReadRateLimitHeader("x-ratelimit-reset-tokens", "6m0s", o);
  auto ol = LimitsOf(o, kNow);
  BOOST_REQUIRE(ol.has_value());
  BOOST_TEST(ol->tokens.reset_at == kNow + 360'000);
  BOOST_TEST(!ol->requests.known());

  RateLimits half;  // a remaining count without its limit says nothing usable
  ReadRateLimitHeader("x-ratelimit-remaining-requests", "3", half);
  BOOST_TEST(!LimitsOf(half, kNow).has_value());
}

BOOST_AUTO_TEST_CASE(GoDurationsParse) {
  BOOST_TEST(ParseGoDurationMs("6m0s").value() == 360'000);
  BOOST_TEST(ParseGoDurationMs("1s").value() == 1'000);
  BOOST_TEST(ParseGoDurationMs("20ms").value() == 20);
  BOOST_TEST(ParseGoDurationMs("1h2m3.5s").value() == 3'723'500);
  BOOST_TEST(!ParseGoDurationMs("").has_value());
  BOOST_TEST(!ParseGoDurationMs("6 minutes").has_value());
  BOOST_TEST(!ParseGoDurationMs("s").has_value());
}

BOOST_AUTO_TEST_CASE(AResetThatPassedCountsAsFullAgain) {
  ProviderLimits l = Left(5, 100, kNow + 60'000);
  BOOST_TEST(l.LeftFraction(kNow).value() == 0.05);
  BOOST_TEST(l.LeftFraction(kNow + 60'000).value() == 1.0);
  BOOST_TEST(l.Text(kNow + 60'000) == "requests 100/100");
  BOOST_TEST(!ProviderLimits{}.LeftFraction(kNow).has_value());
}

BOOST_AUTO_TEST_CASE(TheLatestLimitsAreKeptOnAnyAnswerAndTravelInTheStoreJson) {
  UsageStats u;
  ApplyReport(Ok("a:one", Left(50, 100)), RotationPolicy{}, kNow, u);
  BOOST_TEST(u.limits->requests.remaining == 50);
  // A 429 carries them too; an overload (which leaves the health alone) still updates them.
  CallReport limited = Ok("a:one", Left(0, 100, kNow + 30'000));
  limited.error = ErrorClass::kRateLimit;
  ApplyReport(limited, RotationPolicy{}, kNow + 1, u);
  BOOST_TEST(u.limits->requests.remaining == 0);
  CallReport overloaded = Ok("a:one", Left(7, 100));
  overloaded.error = ErrorClass::kOverloaded;
  ApplyReport(overloaded, RotationPolicy{}, kNow + 2, u);
  BOOST_TEST(u.limits->requests.remaining == 7);
  BOOST_TEST(u.limits->reported_at == kNow + 2);
  // An answer without them keeps the last ones.
  ApplyReport(Ok("a:one"), RotationPolicy{}, kNow + 3, u);
  BOOST_TEST(u.limits->requests.remaining == 7);

  AuthStore s = Store();
  u.last_probe_at = kNow;
  u.probe_failures = 2;
  s.SetUsage("a:one", u);
  auto again = AuthStore::Parse("auth.json", s.ToJson());
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->Usage("a:one") == u));
  BOOST_TEST(s.ToJson().find("\"limits\"") != std::string::npos);
  // A wrong type inside them is an error naming the JSON path.
  auto bad = AuthStore::Parse("auth.json", R"({"usageStats": {"a:one": {"limits": {"requests": {"limit": "x"}}}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()) ==
             "auth.json: $.usageStats[\"a:one\"].limits.requests.limit (1:60): expected a number");
}

// ---- quota_aware ----

BOOST_AUTO_TEST_CASE(QuotaAwareWithoutDataIsLeastUsed) {
  AuthStore s = Store();
  UsageStats one, two;
  one.use_count = 9;
  two.use_count = 3;
  s.SetUsage("a:one", one);
  s.SetUsage("a:two", two);
  BOOST_TEST(ResolveAuthOrder({&QuotaAware(), &s, "anthropic", kNow}).ids == (V{"a:three", "a:two", "a:one"}));
  auto least = ParseConfig(R"({"modelpin": {"rotation": {"strategy": {"anthropic": "least_used"}}}})");
  BOOST_TEST(ResolveAuthOrder({&least, &s, "anthropic", kNow}).ids ==
             ResolveAuthOrder({&QuotaAware(), &s, "anthropic", kNow}).ids);
}

BOOST_AUTO_TEST_CASE(QuotaAwarePutsTheMostLeftFirstAndTheLowOnesLast) {
  AuthStore s = Store();
  UsageStats one, two, three;
  one.limits = Left(90, 100);
  two.limits = Left(10, 100);  // under 20 %
  three.limits = Left(50, 100);
  s.SetUsage("a:one", one);
  s.SetUsage("a:two", two);
  s.SetUsage("a:three", three);
  AuthOrder o = ResolveAuthOrder({&QuotaAware(), &s, "anthropic", kNow});
  BOOST_TEST(o.ids == (V{"a:one", "a:three", "a:two"}));
  BOOST_TEST(o.low_quota == (V{"a:two"}));
  // A profile the provider said nothing about counts as full.
  s.SetUsage("a:one", UsageStats{});
  BOOST_TEST(ResolveAuthOrder({&QuotaAware(), &s, "anthropic", kNow}).ids == (V{"a:one", "a:three", "a:two"}));
  // Other strategies ignore the quota.
  auto rr = ParseConfig("{}");
  BOOST_TEST(ResolveAuthOrder({&rr, &s, "anthropic", kNow}).low_quota.empty());
}

BOOST_AUTO_TEST_CASE(QuotaAwareThresholdIsConfigurableAndResetsRefill) {
  AuthStore s = Store();
  UsageStats one, two;
  one.limits = Left(30, 100, kNow + 60'000);
  two.limits = Left(60, 100);
  s.SetUsage("a:one", one);
  s.SetUsage("a:two", two);
  BOOST_TEST(ResolveAuthOrder({&QuotaAware(), &s, "anthropic", kNow}).low_quota.empty());  // 30 % >= 20 %
  auto strict = ParseConfig(
      R"({"modelpin": {"rotation": {"quotaThreshold": 0.5, "strategy": {"anthropic": "quota_aware"}}}})");
  BOOST_TEST(ResolveAuthOrder({&strict, &s, "anthropic", kNow}).low_quota == (V{"a:one"}));
  // Once a:one's window resets it counts as full: first, and not low.
  AuthOrder later = ResolveAuthOrder({&strict, &s, "anthropic", kNow + 60'000});
  BOOST_TEST(later.low_quota.empty());
  BOOST_TEST(later.ids.front() == "a:one");
  // The memo of orders ends at that reset, so the change is seen.
  AuthOrderMemo memo(&strict, &s, kNow);
  BOOST_TEST(memo.ValidUntil() == kNow + 60'000);
  auto bad = Config::Parse("cfg.json", R"({"modelpin": {"rotation": {"quotaThreshold": 2}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find("$.modelpin.rotation.quotaThreshold") != std::string::npos);
}

// ---- probing rules ----

BOOST_AUTO_TEST_CASE(OnlyDisabledProfilesAreProbedAfterTheIntervalWithBackoff) {
  ProbePolicy p;
  p.interval_ms = 60'000;
  UsageStats u;
  BOOST_TEST(!ProbeDue(u, p, kNow));  // healthy
  CallReport billing = Ok("a:one");
  billing.error = ErrorClass::kBilling;
  ApplyReport(billing, RotationPolicy{}, kNow, u);
  int64_t at = 0;
  BOOST_TEST(!ProbeDue(u, p, kNow + 59'999, &at));
  BOOST_TEST(at == kNow + 60'000);
  BOOST_TEST(ProbeDue(u, p, kNow + 60'000));
  // A failing probe keeps the profile out as it was and doubles the wait.
  CallReport failed = billing;
  failed.probe = true;
  UsageStats before = u;
  ApplyReport(failed, RotationPolicy{}, kNow + 60'000, u);
  BOOST_TEST(u.disabled_until == before.disabled_until);
  BOOST_TEST(u.error_count == before.error_count);
  BOOST_TEST(u.probe_failures == 1);
  BOOST_TEST(!ProbeDue(u, p, kNow + 60'000 + 119'999, &at));
  BOOST_TEST(at == kNow + 60'000 + 120'000);
  // A passing probe re-enables it and resets the backoff; it is no use of the profile.
  CallReport passed = Ok("a:one");
  passed.probe = true;
  ApplyReport(passed, RotationPolicy{}, kNow + 200'000, u);
  BOOST_TEST(u.disabled_until == 0);
  BOOST_TEST(u.probe_failures == 0);
  BOOST_TEST(u.use_count == 0);
  BOOST_TEST(u.last_probe_at == kNow + 200'000);
  BOOST_TEST(!ProbeDue(u, p, kNow + 10'000'000));
  // A cooldown (rate limit) recovers by itself: never probed.
  UsageStats cooling;
  CallReport limited = Ok("a:one");
  limited.error = ErrorClass::kRateLimit;
  ApplyReport(limited, RotationPolicy{}, kNow, cooling);
  BOOST_TEST(!ProbeDue(cooling, p, kNow + 20'000));
}

BOOST_AUTO_TEST_CASE(ProbeConfigIsReadAndChecked) {
  auto c = ParseConfig(R"({"modelpin": {"probe": {"enabled": true, "intervalMs": 30000, "timeoutMs": 2000,
      "maxTokens": 4}}})");
  BOOST_TEST(c.probe().enabled);
  BOOST_TEST(c.probe().interval_ms == 30'000);
  BOOST_TEST(c.probe().timeout_ms == 2'000);
  BOOST_TEST(c.probe().max_tokens == 4);
  BOOST_TEST(!ParseConfig("{}").probe().enabled);
  auto bad = Config::Parse("cfg.json", R"({"modelpin": {"probe": {"intervalMs": 5}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find("$.modelpin.probe.intervalMs") != std::string::npos);
}

// ---- probes through a stand-in provider ----

namespace {

// Answers like Anthropic's Messages API: per credential, the statuses scripted, then 200.
struct Provider {
  std::mutex mu;
  std::map<std::string, std::vector<int>> script;  // by the key's last character
  std::vector<std::string> bodies;
  HttpStub stub{[this](const StubRequest& r) { return Answer(r); }};
  StubResponse Answer(const StubRequest& r) {
    std::string auth = r.headers.count("x-api-key") ? r.headers.at("x-api-key") : "";
    if (r.headers.count("authorization")) auth = r.headers.at("authorization");
    std::string who = auth.empty() ? "?" : auth.substr(auth.size() - 1);
    int status = 200;
    {
      std::lock_guard lock(mu);
      bodies.push_back(r.body);
      auto& s = script[who];
      if (!s.empty()) status = s.front(), s.erase(s.begin());
    }
    StubResponse out;
    out.status = status;
    out.headers = {{"anthropic-ratelimit-requests-limit", "100"}, {"anthropic-ratelimit-requests-remaining", "99"}};
    out.body = status == 200 ? R"({"content":[{"type":"text","text":"."}]})" : R"({"type":"error"})";
    return out;
  }
};

struct State {
  std::string dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(kNow);
  explicit State(const std::string& base_url) : dir(MakeTempDir("quota")) {
    fs::create_directories(dir + "/agents/main/agent");
    std::ofstream(dir + "/modelpin.json") << R"({"agents": {"defaults": {"model": "anthropic/claude-haiku-4-5"}},
        "models": {"providers": {"anthropic": {"baseUrl": ")" + base_url + R"("}}},
        "modelpin": {"probe": {"intervalMs": 60000}}})";
    std::ofstream(dir + "/agents/main/agent/auth-profiles.json") << R"({"version": 1, "profiles": {
        "anthropic:one": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-xxxxxxxxxxxxxxxxxxxx1"},
        "anthropic:two": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-xxxxxxxxxxxxxxxxxxxx2"}}})";
  }
  ~State() { fs::remove_all(dir); }
  std::unique_ptr<Engine> Open() {
    EngineSetup setup;
    setup.sessions = EngineSetup::Sessions::kMemory;
    return OpenForTest(dir, clock, std::move(setup));
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(DueProbesRecoverABillingDisabledKeyAndBackOffOnFailure) {
  Provider provider;
  State state(provider.stub.url());
  auto e = state.Open();
  CallReport billing;
  billing.error = ErrorClass::kBilling;
  for (const char* id : {"anthropic:one", "anthropic:two"}) {
    billing.profile_id = id;
    BOOST_REQUIRE(e->ReportOutcome("main", "", billing).ok());
  }
  BOOST_TEST(DueProbes(*e, "main").empty());  // the interval has not passed
  BOOST_TEST(RunProbes(*e, "main", {.due_only = true}).empty());
  BOOST_TEST(provider.stub.requests().empty());
  state.clock->Advance(60'000);
  BOOST_REQUIRE_EQUAL(DueProbes(*e, "main").size(), 2u);
  BOOST_TEST(DueProbes(*e, "main")[0].reason == "billing");
  // one pays again (200), two still does not (402).
  provider.script["2"] = {402};
  auto results = RunProbes(*e, "main", {.due_only = true, .concurrency = 2});
  BOOST_REQUIRE_EQUAL(results.size(), 2u);
  BOOST_TEST(results[0].profile == "anthropic:one");
  BOOST_TEST(results[0].status == "ok");
  BOOST_TEST(results[0].recovered);
  BOOST_TEST(results[0].model == "anthropic/claude-haiku-4-5");
  BOOST_TEST(results[1].status == "billing");
  BOOST_TEST(results[1].http_status == 402);
  BOOST_TEST(!results[1].recovered);
  // The cheapest request: max_tokens 1.
  for (const auto& body : provider.bodies) BOOST_TEST(body.find("\"max_tokens\":1,") != std::string::npos);
  // one is back in the order (with the limits the probe's answer carried); two stays out,
  // and is not due again before twice the interval.
  auto store = e->Auth("main");
  BOOST_REQUIRE(store.ok());
  BOOST_TEST((*store)->Usage("anthropic:one").disabled_until == 0);
  BOOST_TEST((*store)->Usage("anthropic:one").limits->requests.remaining == 99);
  BOOST_TEST((*store)->Usage("anthropic:two").disabled_until > e->NowMs());
  BOOST_TEST((*store)->Usage("anthropic:two").probe_failures == 1);
  BOOST_TEST(DueProbes(*e, "main").empty());
  state.clock->Advance(119'000);
  BOOST_TEST(DueProbes(*e, "main").empty());
  state.clock->Advance(1'000);
  BOOST_REQUIRE_EQUAL(DueProbes(*e, "main").size(), 1u);
  // After the failed probe the next message is still answered, by the recovered key.
  auto out = e->Handle({"main", "agent:main:main", "hello"});
  BOOST_REQUIRE(out.ok());
  BOOST_REQUIRE(out->route.has_value());
  BOOST_TEST(out->route->profiles.front() == "anthropic:one");
}

BOOST_AUTO_TEST_CASE(ProbesByHandFilterByProviderAndProfileAndAuthFailuresKeepTheProfileOut) {
  Provider provider;
  State state(provider.stub.url());
  auto e = state.Open();
  provider.script["1"] = {401};
  auto one = RunProbes(*e, "main", {.profiles = {"anthropic:one"}, .max_tokens = 3});
  BOOST_REQUIRE_EQUAL(one.size(), 1u);
  BOOST_TEST(one[0].status == "auth");
  BOOST_TEST(!one[0].was_disabled);
  BOOST_TEST(provider.bodies.back().find("\"max_tokens\":3,") != std::string::npos);
  // A probe never makes a profile worse: a 401 on a healthy profile starts no cooldown.
  auto store = e->Auth("main");
  BOOST_TEST((*store)->Usage("anthropic:one").cooldown_until == 0);
  BOOST_TEST(RunProbes(*e, "main", {.providers = {"openrouter"}}).empty());
  BOOST_TEST(RunProbes(*e, "main", {.providers = {"anthropic"}}).size() == 2u);
}

// ---- transcript directives ----

BOOST_AUTO_TEST_CASE(TranscriptDirectivesStateQuotaAndProbesAndNameBadInput) {
  auto lines = ParseTranscript("t.txt",
                               "//@ outcome ok remaining=requests:12/100,tokens:5000/80000 reset=60s\n"
                               "//@ outcome rate_limit remaining=output_tokens:0/4000 reset=2026-12-01T10:01:00Z\n"
                               "//@ probe anthropic:work ok\n");
  BOOST_REQUIRE_MESSAGE(lines.ok(), lines.status().message());
  const CallReport& ok = (*lines)[0].outcome;
  BOOST_TEST(ok.limits->requests.remaining == 12);
  BOOST_TEST(ok.limits->tokens.limit == 80000);
  BOOST_TEST((*lines)[0].reset_in_ms == 60'000);
  BOOST_TEST((*lines)[1].outcome.limits->output_tokens.reset_at == *ParseUtc("2026-12-01T10:01:00Z"));
  BOOST_TEST(((*lines)[2].kind == TranscriptLine::Kind::kProbe));
  BOOST_TEST((*lines)[2].outcome.probe);
  BOOST_TEST((*lines)[2].outcome.profile_id == "anthropic:work");
  auto error = [](const std::string& text) {
    auto r = ParseTranscript("t.txt", "hello\n" + text + "\n");
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  BOOST_TEST(error("//@ outcome ok remaining=requests:120/100") ==
             "t.txt:2:1: bad remaining \"requests:120/100\" (expected NAME:LEFT/LIMIT, NAME requests, tokens, "
             "input_tokens or output_tokens)");
  BOOST_TEST(error("//@ outcome ok remaining=calls:1/2").find("bad remaining \"calls:1/2\"") != std::string::npos);
  BOOST_TEST(error("//@ outcome ok reset=60s") == "t.txt:2:1: reset= needs remaining= (the quota that resets)");
  BOOST_TEST(error("//@ outcome ok remaining=requests:1/2 reset=soon").find("bad reset \"soon\"") != std::string::npos);
  BOOST_TEST(error("//@ probe anthropic:work") ==
             "t.txt:2:1: bad probe \"anthropic:work\" (expected PROFILE CLASS: anthropic:work ok, or a failure such as "
             "auth or billing)");
  BOOST_TEST(error("//@ probe anthropic:work fine").find("bad probe") != std::string::npos);
}
