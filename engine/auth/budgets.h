// Budgets applied to an agent's auth profiles (config `modelpin.budgets`, docs/usage-and-budgets.md):
// which profiles a budget covers, which are stopped now and until when, and which budgets a
// reported call took past their warning share or used up.
//
//   ApplyBudgets(config, "main", store, now);          // after the agent's health is read
//   store.Usage("anthropic:work").budget_until;         // > now: routing skips it ("budget")
#ifndef MODELPIN_ENGINE_AUTH_BUDGETS_H_
#define MODELPIN_ENGINE_AUTH_BUDGETS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {

// Whether `b` counts the calls of profile `id` (of auth provider `provider`) of agent `agent`.
bool BudgetCovers(const Budget& b, std::string_view agent, std::string_view id, std::string_view provider);

// Marks every profile of `store` that a budget stops at `now_ms`: its budget_until (the latest
// freeing instant of the budgets that stop it) and budget_reason (that budget, described). Does
// nothing without budgets.
void ApplyBudgets(const Config& config, std::string_view agent, AuthStore& store, int64_t now_ms);

// A budget a reported call took across its warning share or its limit.
struct BudgetCrossing {
  const Budget* budget = nullptr;
  bool exhausted = false;  // the limit (budget_exhausted); else the warning share (budget_warning)
  double used = 0;         // the budget's measure in its window, after the call
  int64_t until = 0;       // exhausted: when the window frees it
};
// The crossings of one reported call on profile `id`: its ledger went from `before` to `after`;
// the other profiles' ledgers are read from `store`. Only a crossing counts (a budget already past
// its share warns no more until its window frees it): each warns once and exhausts once per fill.
std::vector<BudgetCrossing> BudgetCrossings(const Config& config, std::string_view agent, const AuthStore& store,
                                            const std::string& id, std::string_view provider,
                                            const UsageLedger& before, const UsageLedger& after, int64_t now_ms);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_AUTH_BUDGETS_H_
