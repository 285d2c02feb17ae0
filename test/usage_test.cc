// Token usage, cost and budgets per auth profile (engine/config/usage.h, engine/auth/budgets.h;
// docs/usage-and-budgets.md): windows roll, buckets are pruned, unknown cost is not 0, budgets
// stop a profile like a cooldown and warn once.
#define BOOST_TEST_MODULE usage
#include <boost/test/unit_test.hpp>

#include <modelpin/base/clock.h>
#include <modelpin/calls/model_call.h>
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/budgets.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {
namespace {

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 24 * kHour;
const int64_t kTen = *ParseUtc("2026-12-01T10:20:00Z");
const ModelPrice kOpus{5, 25, 0.5, 6.25};

AuthStore Store() {
  return *AuthStore::Parse("auth.json", R"({"version": 1, "profiles": {
      "anthropic:one": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-1111111111111111111"},
      "anthropic:two": {"type": "api_key", "provider": "anthropic", "key": "sk-ant-api03-2222222222222222222"}}})");
}

Config WithBudgets(const std::string& budgets) {
  auto c = Config::Parse("cfg.json", R"({"modelpin": {"budgets": )" + budgets + "}}");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  return *std::move(c);
}

}  // namespace
}  // namespace modelpin

using namespace modelpin;

BOOST_AUTO_TEST_CASE(WindowsRollByTheHourAndTheDay) {
  UsageLedger l;
  RecordCall(l, kTen, "ok", TokenUsage{1000, 100}, kOpus);
  RecordCall(l, kTen + 2 * kHour, "rate_limit", std::nullopt, kOpus);
  BOOST_TEST(InWindow(l, UsageWindow::k5h, kTen + 2 * kHour).calls == 2);
  BOOST_TEST(InWindow(l, UsageWindow::k5h, kTen + 2 * kHour).failures == 1);
  // The 10:00 hour is in the 5 h window until 16:00, then only the 12:00 call is.
  BOOST_TEST(InWindow(l, UsageWindow::k5h, *ParseUtc("2026-12-01T15:59:59Z")).calls == 2);
  BOOST_TEST(InWindow(l, UsageWindow::k5h, *ParseUtc("2026-12-01T16:00:00Z")).calls == 1);
  BOOST_TEST(InWindow(l, UsageWindow::k5h, *ParseUtc("2026-12-01T18:00:00Z")).calls == 0);
  BOOST_TEST(InWindow(l, UsageWindow::k1d, kTen + 20 * kHour).calls == 2);
  BOOST_TEST(InWindow(l, UsageWindow::k7d, kTen + 6 * kDay).calls == 2);
  BOOST_TEST(InWindow(l, UsageWindow::k7d, kTen + 8 * kDay).calls == 0);
  BOOST_TEST(InWindow(l, UsageWindow::k30d, kTen + 29 * kDay).calls == 2);
  BOOST_TEST(InWindow(l, UsageWindow::k30d, kTen + 31 * kDay).calls == 0);
  // Totals stay.
  BOOST_TEST(l.total.calls == 2);
  BOOST_TEST(l.failures_by_class.at("rate_limit") == 1);
  BOOST_TEST(l.total.tokens.input == 1000);
}

BOOST_AUTO_TEST_CASE(BucketsArePrunedAsTheyAge) {
  UsageLedger l;
  for (int h = 0; h < 24 * 40; ++h) RecordCall(l, kTen + h * kHour, "ok", TokenUsage{1, 1}, kOpus);
  BOOST_TEST(l.hours.size() <= 7u * 24 + 1);
  BOOST_TEST(l.days.size() <= 31u);
  BOOST_TEST(l.total.calls == 24 * 40);
  BOOST_TEST(InWindow(l, UsageWindow::k30d, kTen + 24 * 40 * kHour).calls <= 31 * 24);
}

BOOST_AUTO_TEST_CASE(AModelWithoutAPriceCostsUnknownNotZero) {
  UsageLedger unpriced, free_model, no_tokens;
  RecordCall(unpriced, kTen, "ok", TokenUsage{1000, 100}, std::nullopt);
  BOOST_TEST(!unpriced.total.CostKnown());
  BOOST_TEST(unpriced.total.unpriced == 1);
  RecordCall(free_model, kTen, "ok", TokenUsage{1000, 100}, ModelPrice{});
  BOOST_TEST(free_model.total.CostKnown());
  BOOST_TEST(free_model.total.cost_usd == 0.0);
  RecordCall(no_tokens, kTen, "ok", std::nullopt, std::nullopt);
  BOOST_TEST(no_tokens.total.CostKnown());
  UsageLedger priced;
  RecordCall(priced, kTen, "ok", TokenUsage{1200, 350, 100, 40}, kOpus);
  BOOST_TEST(priced.total.cost_usd == (1200 * 5 + 350 * 25 + 100 * 0.5 + 40 * 6.25) / 1e6,
             boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(CatalogCostIsReadAndCheckedWithItsPath) {
  auto c = Config::Parse("cfg.json", R"({"models": {"providers": {"anthropic": {"models": [
      {"id": "claude-opus-4-5", "cost": {"input": 5, "output": 25, "cacheRead": 0.5, "cacheWrite": 6.25}},
      {"id": "claude-haiku-4-5"}]}}}})");
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  BOOST_TEST((c->PriceOf("anthropic/claude-opus-4-5") == kOpus));
  BOOST_TEST(!c->PriceOf("anthropic/claude-haiku-4-5").has_value());
  BOOST_TEST(!c->PriceOf("openai/gpt-5").has_value());
  auto bad = Config::Parse("cfg.json", R"({"models": {"providers": {"anthropic": {"models": [
      {"id": "claude-opus-4-5", "cost": {"input": -1}}]}}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find("$.models.providers.anthropic.models[0].cost.input") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(TheLedgerTravelsAsTheProfilesHealthJson) {
  UsageStats u;
  u.use_count = 2;
  RecordCall(u.usage, kTen, "ok", TokenUsage{1200, 350, 100, 0}, kOpus);
  RecordCall(u.usage, kTen + 30 * kHour, "timeout", std::nullopt, std::nullopt);
  RecordCall(u.usage, kTen + 31 * kHour, "ok", TokenUsage{10, 10}, std::nullopt);
  rapidjson::Document d;
  rapidjson::Value v = UsageStatsJson(u, d.GetAllocator());
  auto back = ParseUsageStats(v, "$.usageStats.x");
  BOOST_REQUIRE(back.ok());
  BOOST_TEST((back->usage == u.usage));
  // Budget stops are computed, never stored.
  u.budget_until = kTen + kDay;
  rapidjson::Value w = UsageStatsJson(u, d.GetAllocator());
  BOOST_TEST(ParseUsageStats(w, "$").value().budget_until == 0);
  auto bad = AuthStore::Parse("auth.json", R"({"usageStats": {"a:b": {"usage": {"hours": [[1, 2]]}}}})");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(std::string(bad.status().message()).find(R"($.usageStats["a:b"].usage.hours[0])") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(BudgetsAreCheckedWithTheirPath) {
  for (const char* text : {R"([{"profile": "a:b", "usd": 1, "calls": 2, "window": "1d"}])",
                           R"([{"profile": "a:b", "provider": "a", "usd": 1, "window": "1d"}])",
                           R"([{"profile": "a:b", "usd": 1, "window": "2d"}])",
                           R"([{"profile": "a:b", "usd": 0, "window": "1d"}])",
                           R"([{"profile": "a:b", "usd": 1, "window": "1d", "warnAt": 1.5}])",
                           R"([{"profile": "a:b", "usd": 1}])"}) {
    auto c = Config::Parse("cfg.json", std::string(R"({"modelpin": {"budgets": )") + text + "}}");
    BOOST_REQUIRE_MESSAGE(!c.ok(), text);
    BOOST_TEST(std::string(c.status().message()).find("$.modelpin.budgets[0]") != std::string::npos,
               c.status().message());
  }
}

BOOST_AUTO_TEST_CASE(AProfileOverItsBudgetIsSkippedWithTheReasonBudgetUntilTheWindowFreesIt) {
  Config config = WithBudgets(R"([{"profile": "anthropic:one", "tokens": 2000, "window": "5h"}])");
  AuthStore store = Store();
  UsageStats one;
  one.last_used = kTen - kHour;  // least recently used: round robin puts it first
  RecordCall(one.usage, kTen, "ok", TokenUsage{1500, 400}, std::nullopt);
  store.SetUsage("anthropic:one", one);
  UsageStats two;
  two.last_used = kTen;
  store.SetUsage("anthropic:two", two);

  // 1900 tokens: under the budget, one leads.
  ApplyBudgets(config, "main", store, kTen);
  BOOST_TEST(store.Usage("anthropic:one").budget_until == 0);
  BOOST_TEST(ResolveAuthOrder({&config, &store, "anthropic", kTen}).ids.front() == "anthropic:one");

  // 2000 tokens: used up. Skipped like a cooldown, until 16:00 (the 10:00 hour leaves the 5 h window).
  RecordCall(one.usage, kTen + 60'000, "ok", TokenUsage{100, 0}, std::nullopt);
  store.SetUsage("anthropic:one", one);
  ApplyBudgets(config, "main", store, kTen + 60'000);
  const int64_t frees = *ParseUtc("2026-12-01T16:00:00Z");
  BOOST_TEST(store.Usage("anthropic:one").budget_until == frees);
  AuthOrder o = ResolveAuthOrder({&config, &store, "anthropic", kTen + 60'000});
  BOOST_TEST(o.ids.front() == "anthropic:two");
  BOOST_TEST(o.cooling == std::vector<std::string>{"anthropic:one"});
  ProfileHealth h = DescribeHealth(store.Usage("anthropic:one"), "", kTen + 60'000);
  BOOST_TEST(h.StateName() == "budget");
  BOOST_TEST(h.Text() == "over budget (tokens 2000 per 5h for profile anthropic:one) until 2026-12-01T16:00:00Z");
  // The agent's orders are rebuilt when it frees.
  AuthOrderMemo memo(&config, &store, kTen + 60'000);
  BOOST_TEST(memo.ValidUntil() == frees);

  // At 16:00 the window frees it.
  AuthStore later = Store();
  later.SetUsage("anthropic:one", one);
  later.SetUsage("anthropic:two", two);
  ApplyBudgets(config, "main", later, frees);
  BOOST_TEST(later.Usage("anthropic:one").budget_until == 0);
  BOOST_TEST(ResolveAuthOrder({&config, &later, "anthropic", frees}).cooling.empty());
}

BOOST_AUTO_TEST_CASE(AProviderBudgetSumsItsProfilesAndStopsThemAll) {
  Config config = WithBudgets(R"([{"provider": "Anthropic", "calls": 3, "window": "1d"}])");
  AuthStore store = Store();
  UsageStats one, two;
  RecordCall(one.usage, kTen, "ok", std::nullopt, std::nullopt);
  RecordCall(one.usage, kTen, "ok", std::nullopt, std::nullopt);
  RecordCall(two.usage, kTen + kHour, "ok", std::nullopt, std::nullopt);
  store.SetUsage("anthropic:one", one);
  store.SetUsage("anthropic:two", two);
  ApplyBudgets(config, "main", store, kTen + kHour);
  AuthOrder o = ResolveAuthOrder({&config, &store, "anthropic", kTen + kHour});
  BOOST_TEST(o.AllCooling());
  // Two of the three calls leave the 1 d window at 10:00 + 1 h + 1 d.
  BOOST_TEST(store.Usage("anthropic:two").budget_until == *ParseUtc("2026-12-02T11:00:00Z"));
  // Another agent's budget does not count.
  Config other = WithBudgets(R"([{"agent": "ops", "calls": 1, "window": "1d"}])");
  AuthStore s2 = Store();
  s2.SetUsage("anthropic:one", one);
  ApplyBudgets(other, "main", s2, kTen);
  BOOST_TEST(s2.Usage("anthropic:one").budget_until == 0);
  ApplyBudgets(other, "ops", s2, kTen);
  BOOST_TEST(s2.Usage("anthropic:one").budget_until > kTen);
}

BOOST_AUTO_TEST_CASE(ABudgetWarnsOnceThenExhaustsOnce) {
  Config config = WithBudgets(R"([{"profile": "anthropic:one", "calls": 10, "window": "1d", "warnAt": 0.5}])");
  AuthStore store = Store();
  UsageLedger l;
  int warnings = 0, exhausted = 0;
  for (int i = 0; i < 14; ++i) {
    UsageLedger before = l;
    RecordCall(l, kTen + i * 60'000, "ok", std::nullopt, std::nullopt);
    for (const BudgetCrossing& c : BudgetCrossings(config, "main", store, "anthropic:one", "anthropic", before, l,
                                                   kTen + i * 60'000)) {
      if (c.exhausted) {
        ++exhausted;
        BOOST_TEST(i == 9);  // the 10th call
        BOOST_TEST(c.until == *ParseUtc("2026-12-02T11:00:00Z"));
      } else {
        ++warnings;
        BOOST_TEST(i == 4);  // the 5th call: half of 10
      }
    }
  }
  BOOST_TEST(warnings == 1);
  BOOST_TEST(exhausted == 1);
  // Another profile's calls do not cross this budget.
  UsageLedger other_before, other;
  RecordCall(other, kTen, "ok", std::nullopt, std::nullopt);
  BOOST_TEST(BudgetCrossings(config, "main", store, "anthropic:two", "anthropic", other_before, other, kTen).empty());
}

BOOST_AUTO_TEST_CASE(TokenCountsAreReadFromAnthropicAndOpenAiAnswers) {
  auto a = ReadTokenUsage(Api::kAnthropicMessages, R"({"content": [{"type": "text", "text": "hi"}],
      "usage": {"input_tokens": 1200, "output_tokens": 350, "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 40}})");
  BOOST_REQUIRE(a.has_value());
  BOOST_TEST((*a == TokenUsage{1200, 350, 100, 40}));
  auto o = ReadTokenUsage(Api::kOpenAiChat, R"({"choices": [{"message": {"content": "hi"}}],
      "usage": {"prompt_tokens": 1300, "completion_tokens": 350, "prompt_tokens_details": {"cached_tokens": 100}}})");
  BOOST_REQUIRE(o.has_value());
  BOOST_TEST((*o == TokenUsage{1200, 350, 100, 0}));
  BOOST_TEST(!ReadTokenUsage(Api::kOpenAiChat, R"({"choices": []})").has_value());
  BOOST_TEST(!ReadTokenUsage(Api::kAnthropicMessages, "not json").has_value());
  auto odd = ReadTokenUsage(Api::kAnthropicMessages, R"({"usage": {"input_tokens": "many", "output_tokens": -3}})");
  BOOST_REQUIRE(odd.has_value());
  BOOST_TEST(odd->Total() == 0);
}

BOOST_AUTO_TEST_CASE(ClearingCooldownsOrANewSecretForgivesNoUsage) {
  UsageStats u;
  u.cooldown_until = kTen + kHour;
  u.error_count = 2;
  RecordCall(u.usage, kTen, "ok", TokenUsage{1000, 100}, kOpus);
  UsageStats cleared = ClearedHealth(u);
  BOOST_TEST(cleared.cooldown_until == 0);
  BOOST_TEST(cleared.error_count == 0);
  BOOST_TEST((cleared.usage == u.usage));
  AuthStore store = Store();
  store.SetUsage("anthropic:one", u);
  Credential replaced;
  replaced.id = "anthropic:one";
  replaced.type = "api_key";
  replaced.provider = "anthropic";
  replaced.secret = "sk-ant-api03-9999999999999999999";
  StoreCredential(store, replaced);
  BOOST_TEST(store.Usage("anthropic:one").cooldown_until == 0);
  BOOST_TEST((store.Usage("anthropic:one").usage == u.usage));
}
