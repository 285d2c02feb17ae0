// The credential rotation rules (engine/auth/rotation.h) and how the order and the route use them.
#define BOOST_TEST_MODULE rotation
#include <boost/test/unit_test.hpp>

#include <modelpin/base/clock.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

CallReport Report(ErrorClass e, std::string model = "", int64_t retry_after = 0) {
  return CallReport{"p", e, retry_after, std::move(model)};
}

Config ParseConfig(const std::string& text) { return *Config::Parse("cfg.json", text); }

AuthStore Store() {
  return *AuthStore::Parse("auth.json", R"({"version": 1, "profiles": {
      "a:one": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-1111111111111111111"},
      "a:two": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-2222222222222222222"},
      "a:three": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-3333333333333333333"}}})");
}

}  // namespace
}  // namespace modelpin

using namespace modelpin;

BOOST_AUTO_TEST_CASE(RateLimitsCoolDownThirtySecondsThenAMinuteThenFiveMinutes) {
  UsageStats u;
  RotationPolicy p;
  int64_t expected[] = {30'000, 60'000, 300'000, 300'000};
  for (int64_t cooldown : expected) {
    ApplyReport(Report(ErrorClass::kRateLimit), p, kNow, u);
    BOOST_TEST(u.cooldown_until == kNow + cooldown);
  }
  BOOST_TEST(u.error_count == 4);
  BOOST_TEST(u.failure_counts.at("rate_limit") == 4);
}

BOOST_AUTO_TEST_CASE(SuccessClearsErrorsAndCooldownsAndCountsTheUse) {
  UsageStats u;
  RotationPolicy p;
  ApplyReport(Report(ErrorClass::kRateLimit), p, kNow, u);
  ApplyReport(Report(ErrorClass::kOk), p, kNow + 1, u);
  BOOST_TEST(u.error_count == 0);
  BOOST_TEST(u.cooldown_until == 0);
  BOOST_TEST(u.failure_counts.empty());
  BOOST_TEST(u.last_used == kNow + 1);
  BOOST_TEST(u.use_count == 1);
}

BOOST_AUTO_TEST_CASE(ErrorCountersRestartAfterTheFailureWindow) {
  UsageStats u;
  RotationPolicy p;
  ApplyReport(Report(ErrorClass::kRateLimit), p, kNow, u);
  ApplyReport(Report(ErrorClass::kRateLimit), p, kNow + 1000, u);
  ApplyReport(Report(ErrorClass::kRateLimit), p, kNow + 1000 + kFailureWindowMs, u);
  BOOST_TEST(u.error_count == 1);
  BOOST_TEST(u.cooldown_until == kNow + 1000 + kFailureWindowMs + 30'000);
}

BOOST_AUTO_TEST_CASE(BillingDisablesTenMinutesThenDoubles) {
  UsageStats u;
  RotationPolicy p;
  ApplyReport(Report(ErrorClass::kBilling), p, kNow, u);
  BOOST_TEST(u.disabled_until == kNow + 600'000);
  BOOST_TEST(u.disabled_reason == "billing");
  BOOST_TEST(u.cooldown_until == 0);  // a 402 is not a rate limit
  ApplyReport(Report(ErrorClass::kBilling), p, kNow + 1, u);
  BOOST_TEST(u.disabled_until == kNow + 1 + 1'200'000);
}

// OpenClaw 2026.9.6 stores a 401 as reason "auth" with the transient cooldown, no disable
// (fixtures/rotation-oracle/auth-401); "auth": "disable" is modelpin's policy for the old rule.
BOOST_AUTO_TEST_CASE(AnAuthFailureCoolsDownByDefaultAndDisablesUnderThePolicy) {
  UsageStats u;
  ApplyReport(Report(ErrorClass::kAuth, "anthropic/claude-opus-4-5"), RotationPolicy{}, kNow, u);
  BOOST_TEST(u.cooldown_until == kNow + 30'000);  // the whole profile, though a model was named
  BOOST_TEST(u.model_cooldowns.empty());
  BOOST_TEST(u.disabled_until == 0);
  BOOST_TEST(u.failure_counts.at("auth") == 1);
  ApplyReport(Report(ErrorClass::kAuth), RotationPolicy{}, kNow + 1, u);
  BOOST_TEST(u.cooldown_until == kNow + 1 + 60'000);

  auto c = ParseConfig(R"({"modelpin": {"rotation": {"auth": "disable"}}})");
  UsageStats d;
  ApplyReport(Report(ErrorClass::kAuth), c.rotation(), kNow, d);
  BOOST_TEST(d.disabled_until == kNow + 600'000);
  BOOST_TEST(d.disabled_reason == "auth");
  BOOST_TEST(d.cooldown_until == 0);
  ApplyReport(Report(ErrorClass::kAuth), c.rotation(), kNow + 1, d);
  BOOST_TEST(d.disabled_until == kNow + 1 + 1'200'000);
}

// OpenClaw retries and rotates on a 529 or a 500 but stores nothing for the profile
// (fixtures/rotation-oracle/overloaded-529, server-error-500).
BOOST_AUTO_TEST_CASE(OverloadsAndServerErrorsLeaveTheHealthAlone) {
  for (ErrorClass e : {ErrorClass::kOverloaded, ErrorClass::kServerError}) {
    UsageStats u;
    ApplyReport(Report(e, "anthropic/claude-opus-4-5"), RotationPolicy{}, kNow, u);
    BOOST_TEST((u == UsageStats{}));
  }
}

BOOST_AUTO_TEST_CASE(AModelScopedRateLimitCoolsDownThatModelOnly) {
  UsageStats u;
  RotationPolicy p;
  ApplyReport(Report(ErrorClass::kRateLimit, "anthropic/claude-opus-4-5"), p, kNow, u);
  BOOST_TEST(u.cooldown_until == 0);
  BOOST_TEST(IsCoolingDown(u, "anthropic/claude-opus-4-5", kNow));
  BOOST_TEST(!IsCoolingDown(u, "anthropic/claude-sonnet-4-5", kNow));
  BOOST_TEST(!IsCoolingDown(u, "", kNow));
  // Timeouts and auth failures concern the whole profile even when a model is named.
  ApplyReport(Report(ErrorClass::kTimeout, "anthropic/claude-opus-4-5"), p, kNow, u);
  BOOST_TEST(IsCoolingDown(u, "", kNow));
}

BOOST_AUTO_TEST_CASE(PoliciesChangeTheRulesPerErrorClass) {
  auto c = ParseConfig(R"({"modelpin": {"rotation": {"auth": "until_changed", "billing": "5h",
                            "rate_limit": "retry_after", "timeout": "retry_once"}}})");
  const RotationPolicy& p = c.rotation();
  UsageStats auth, billing, rate, timeout;
  ApplyReport(Report(ErrorClass::kAuth), p, kNow, auth);
  BOOST_TEST(auth.disabled_until == kUntilCredentialChanges);
  BOOST_TEST(DescribeHealth(auth, "", kNow).Text() == "disabled (auth) until its credential changes, 1 error");
  ApplyReport(Report(ErrorClass::kBilling), p, kNow, billing);
  BOOST_TEST(billing.disabled_until == kNow + 5 * 3'600'000LL);
  ApplyReport(Report(ErrorClass::kRateLimit, "", 120'000), p, kNow, rate);
  BOOST_TEST(rate.cooldown_until == kNow + 120'000);
  ApplyReport(Report(ErrorClass::kTimeout), p, kNow, timeout);
  BOOST_TEST(timeout.cooldown_until == 0);  // retried once on the same profile
  ApplyReport(Report(ErrorClass::kTimeout), p, kNow, timeout);
  BOOST_TEST(timeout.cooldown_until == kNow + 60'000);
}

BOOST_AUTO_TEST_CASE(TheDefaultIgnoresRetryAfterAsOpenClawDoes) {
  UsageStats u;
  ApplyReport(Report(ErrorClass::kRateLimit, "", 120'000), RotationPolicy{}, kNow, u);
  BOOST_TEST(u.cooldown_until == kNow + 30'000);
}

BOOST_AUTO_TEST_CASE(BadRotationConfigNamesThePath) {
  auto c = Config::Parse("cfg.json", R"({"modelpin": {"rotation": {"strategy": {"anthropic": "lru"}}}})");
  BOOST_REQUIRE(!c.ok());
  BOOST_TEST(std::string(c.status().message()).find("$.modelpin.rotation.strategy.anthropic") != std::string::npos);
  BOOST_TEST(std::string(c.status().message()).find("unknown strategy \"lru\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(StrategiesOrderTheSameProfilesDifferently) {
  AuthStore s = Store();
  UsageStats one, two;
  one.last_used = kNow - 10;  // used recently, and often
  one.use_count = 9;
  two.last_used = kNow - 1000;
  two.use_count = 20;
  s.SetUsage("a:one", one);
  s.SetUsage("a:two", two);
  auto order = [&](const char* strategy) {
    auto c = ParseConfig(std::string(R"({"modelpin": {"rotation": {"seed": 7, "strategy": {"anthropic": ")") + strategy +
                         "\"}}}}");
    return ResolveAuthOrder({&c, &s, "anthropic", kNow}).ids;
  };
  using V = std::vector<std::string>;
  BOOST_TEST(order("round_robin") == (V{"a:three", "a:two", "a:one"}));  // least recently used first
  BOOST_TEST(order("fill_first") == (V{"a:one", "a:two", "a:three"}));   // store order
  BOOST_TEST(order("least_used") == (V{"a:three", "a:one", "a:two"}));
  BOOST_TEST(order("random") == order("random"));  // seeded: the same draw every time
}

BOOST_AUTO_TEST_CASE(ModelCooldownsMoveAProfileLastForThatModelOnly) {
  AuthStore s = Store();
  UsageStats u;
  ApplyReport(Report(ErrorClass::kRateLimit, "anthropic/claude-opus-4-5"), RotationPolicy{}, kNow, u);
  s.SetUsage("a:one", u);
  auto c = ParseConfig("{}");
  AuthOrderMemo memo(&c, &s, kNow);
  BOOST_TEST(memo.HasModelCooldowns());
  BOOST_TEST(memo.For("anthropic", "anthropic/claude-opus-4-5", kNow).ids.back() == "a:one");
  BOOST_TEST(memo.For("anthropic", "anthropic/claude-sonnet-4-5", kNow).ids.front() == "a:one");
  BOOST_TEST(memo.ValidUntil() == kNow + 30'000);
}

BOOST_AUTO_TEST_CASE(UsageStatsRoundTripThroughTheStoreJson) {
  AuthStore s = Store();
  UsageStats u;
  ApplyReport(Report(ErrorClass::kRateLimit, "anthropic/claude-opus-4-5"), RotationPolicy{}, kNow, u);
  ApplyReport(Report(ErrorClass::kBilling), RotationPolicy{}, kNow, u);
  s.SetUsage("a:two", u);
  auto again = AuthStore::Parse("auth.json", s.ToJson());
  BOOST_REQUIRE(again.ok());
  BOOST_TEST((again->Usage("a:two") == u));
  BOOST_TEST(s.ToJson().find("\"failureCounts\"") != std::string::npos);
  BOOST_TEST(s.ToJson().find("\"disabledReason\": \"billing\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(TimesAndDurationsParseAndPrint) {
  BOOST_TEST(FormatUtc(*ParseUtc("2026-12-01T10:00:30Z")) == "2026-12-01T10:00:30Z");
  BOOST_TEST(*ParseUtc("1970-01-01T00:00:01.5Z") == 1500);
  BOOST_TEST(!ParseUtc("2026-13-01T10:00:00Z"));
  // Days the calendar does not have are refused, not rolled over into the next month.
  BOOST_TEST(!ParseUtc("2026-02-31T10:00:00Z"));
  BOOST_TEST(!ParseUtc("2025-02-29T10:00:00Z"));
  BOOST_TEST(!ParseUtc("2026-04-31T00:00:00Z"));
  BOOST_TEST(FormatUtc(*ParseUtc("2024-02-29T23:59:59Z")) == "2024-02-29T23:59:59Z");
  BOOST_TEST(FormatUtc(*ParseUtc("1969-12-31T23:59:59.250Z")) == "1969-12-31T23:59:59.250Z");
  BOOST_TEST(FormatUtc(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(*ParseDurationMs("90s") == 90'000);
  BOOST_TEST(*ParseDurationMs("250ms") == 250);
  BOOST_TEST(!ParseDurationMs("-5m"));
  BOOST_TEST((*ParseErrorClass("model_not_found") == ErrorClass::kModelNotFound));
  BOOST_TEST(!ParseErrorClass("429"));
}

// One duration grammar for config, CLI flags, transcripts and /queue debounce (base/clock.h).
BOOST_AUTO_TEST_CASE(OneDurationGrammar) {
  BOOST_TEST(ParseDurationMs("2w").value_or(-1) == 14 * 86'400'000LL);
  BOOST_TEST(ParseDurationMs("5h").value_or(-1) == 5 * 3'600'000LL);
  BOOST_TEST(ParseDurationMs("1d").value_or(-1) == 86'400'000LL);
  BOOST_TEST(ParseDurationMs("1h30m").value_or(-1) == 5'400'000);   // parts add up
  BOOST_TEST(ParseDurationMs("1.5m").value_or(-1) == 90'000);       // a fraction
  BOOST_TEST(ParseDurationMs("1m500ms").value_or(-1) == 60'500);
  BOOST_TEST(!ParseDurationMs("0.0004s"));              // rounds to 0 ms: not positive
  BOOST_TEST(!ParseDurationMs("1500"));                 // a bare number needs a unit from the caller
  BOOST_TEST(ParseDurationMs("1500", 1).value_or(-1) == 1500);      // /queue debounce: bare = ms
  BOOST_TEST(ParseDurationMs("2", 1000).value_or(-1) == 2000);
  BOOST_TEST(!ParseDurationMs("1m30", 1));              // a bare number only stands alone
  for (const char* bad : {"", "s", "0s", "5x", "5 m", "5M", ".5m", "1.m", "1h-30m", "m5", "+5m", "9999999999999999w"})
    BOOST_TEST(!ParseDurationMs(bad), bad);
}
