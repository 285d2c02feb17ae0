#include <modelpin/engine/auth/budgets.h>

#include <algorithm>
#include <map>

#include <modelpin/engine/auth/auth_order.h>

namespace modelpin {
namespace {

// The ledgers a budget sums for agent `agent`: the covered profiles of `store`, with profile
// `replace_id`'s ledger replaced by `replacement` (when given).
std::vector<const UsageLedger*> Ledgers(const Budget& b, const Config& config, std::string_view agent,
                                        const AuthStore& store, std::vector<UsageStats>& keep,
                                        const std::string* replace_id = nullptr,
                                        const UsageLedger* replacement = nullptr) {
  std::vector<const UsageLedger*> out;
  bool replaced = false;
  keep.reserve(store.profiles().size() + 1);
  for (const Credential& c : store.profiles()) {
    if (!BudgetCovers(b, agent, c.id, AuthProvider(ProfileProvider(c.id, config, store)))) continue;
    if (replace_id && c.id == *replace_id) {
      out.push_back(replacement);
      replaced = true;
      continue;
    }
    keep.push_back(store.Usage(c.id));
    out.push_back(&keep.back().usage);
  }
  if (replace_id && !replaced && replacement) out.push_back(replacement);
  return out;
}

}  // namespace

bool BudgetCovers(const Budget& b, std::string_view agent, std::string_view id, std::string_view provider) {
  switch (b.scope) {
    case Budget::Scope::kProfile: return b.target == id;
    case Budget::Scope::kProvider: return b.target == provider;
    case Budget::Scope::kAgent: return b.target == agent;
  }
  return false;
}

void ApplyBudgets(const Config& config, std::string_view agent, AuthStore& store, int64_t now) {
  if (config.budgets().empty()) return;
  std::map<std::string, std::pair<int64_t, std::string>> blocked;
  for (const Budget& b : config.budgets()) {
    std::vector<UsageStats> keep;
    std::vector<const UsageLedger*> ledgers = Ledgers(b, config, agent, store, keep);
    if (ledgers.empty()) continue;
    int64_t until = BudgetBlockedUntil(b, ledgers, now);
    if (until <= now) continue;
    for (const Credential& c : store.profiles()) {
      if (!BudgetCovers(b, agent, c.id, AuthProvider(ProfileProvider(c.id, config, store)))) continue;
      auto& slot = blocked[c.id];
      if (until > slot.first) slot = {until, b.Describe()};
    }
  }
  for (const auto& [id, block] : blocked) store.SetBudgetBlock(id, block.first, block.second);
}

std::vector<BudgetCrossing> BudgetCrossings(const Config& config, std::string_view agent, const AuthStore& store,
                                            const std::string& id, std::string_view provider,
                                            const UsageLedger& before, const UsageLedger& after, int64_t now) {
  std::vector<BudgetCrossing> out;
  for (const Budget& b : config.budgets()) {
    if (!BudgetCovers(b, agent, id, provider)) continue;
    auto used = [&](const UsageLedger& mine) {
      std::vector<UsageStats> keep;
      double sum = 0;
      for (const UsageLedger* l : Ledgers(b, config, agent, store, keep, &id, &mine))
        sum += BudgetAmount(InWindow(*l, b.window, now), b.measure);
      return sum;
    };
    double was = used(before), is = used(after);
    BudgetCrossing c{&b, false, is, 0};
    if (was < b.limit && is >= b.limit) {
      c.exhausted = true;
      std::vector<UsageStats> keep;
      c.until = BudgetBlockedUntil(b, Ledgers(b, config, agent, store, keep, &id, &after), now);
      out.push_back(c);
    } else if (was < b.limit * b.warn_at && is >= b.limit * b.warn_at && is < b.limit) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace modelpin
