#include <modelpin/engine/models/catalog.h>

#include <algorithm>
#include <array>

#include <modelpin/base/text.h>

namespace modelpin {
namespace {

CatalogRow CliRow(const char* id, const char* name, bool deprecated = false) {
  CatalogRow row;
  row.ref = {"claude-cli", id};
  row.name = name;
  row.deprecated = deprecated;
  return row;
}

// dist/extensions/anthropic/openclaw.plugin.json, modelCatalog.providers["claude-cli"]. Their
// thinking profiles are OpenClaw's built-in Claude ones (engine/models/builtin_thinking.h).
const std::array<CatalogRow, 9>& CliRows() {
  static const std::array<CatalogRow, 9> rows = {
      CliRow("claude-opus-5-5", "Claude Opus 5.5 (Claude CLI)"),
      CliRow("claude-opus-5", "Claude Opus 5 (Claude CLI)"),
      CliRow("claude-sonnet-5", "Claude Sonnet 5 (Claude CLI)"),
      CliRow("claude-fable-5-1", "Claude Fable 5.1 (Claude CLI)"),
      CliRow("claude-fable-5", "Claude Fable 5 (Claude CLI)"),
      CliRow("claude-opus-4-8", "Claude Opus 4.8 (Claude CLI)", /*deprecated=*/true),
      CliRow("claude-opus-4-7", "Claude Opus 4.7 (Claude CLI)"),
      CliRow("claude-sonnet-4-6", "Claude Sonnet 4.6 (Claude CLI)"),
      CliRow("claude-opus-4-6", "Claude Opus 4.6 (Claude CLI)"),
  };
  return rows;
}

// The order of the anthropic rows in OpenClaw's static provider config: the unscoped build
// lists an uncredentialed anthropic's rows this way (ids it does not ship follow, as configured).
constexpr std::array<std::string_view, 8> kAnthropicManifestOrder = {
    "claude-opus-5-5", "claude-fable-5-1", "claude-fable-5", "claude-opus-5",
    "claude-sonnet-5", "claude-mythos-5",  "claude-opus-4-8", "claude-haiku-4-5"};

size_t ManifestRank(const CatalogRow& row) {
  auto it = std::find(kAnthropicManifestOrder.begin(), kAnthropicManifestOrder.end(), row.ref.model);
  return static_cast<size_t>(it - kAnthropicManifestOrder.begin());
}

void AddUnique(std::vector<std::string>& out, std::string_view provider) {
  if (!provider.empty() && std::find(out.begin(), out.end(), provider) == out.end()) out.emplace_back(provider);
}

// Whether the config names `ref` as one of the agent's models (a key, the default, a fallback).
bool Configured(const AgentView& agent, const ModelRef& ref) {
  if (ref == agent.default_ref) return true;
  if (std::find(agent.fallbacks.begin(), agent.fallbacks.end(), ref) != agent.fallbacks.end()) return true;
  if (std::find(agent.image_models.begin(), agent.image_models.end(), ref) != agent.image_models.end()) return true;
  return std::any_of(agent.models.begin(), agent.models.end(), [&](const ModelAliasEntry& m) { return m.ref == ref; });
}

}  // namespace

std::span<const CatalogRow> ClaudeCliCatalog() { return CliRows(); }

bool IsBundledClaudeModel(std::string_view id) {
  if (std::find(kAnthropicManifestOrder.begin(), kAnthropicManifestOrder.end(), id) != kAnthropicManifestOrder.end())
    return true;
  return std::any_of(CliRows().begin(), CliRows().end(), [&](const CatalogRow& row) { return row.ref.model == id; });
}

std::vector<std::string> ReferencedProviders(const AgentView& agent) {
  std::vector<std::string> out;
  AddUnique(out, agent.default_ref.provider);
  for (const auto& f : agent.fallbacks) AddUnique(out, f.provider);
  for (const auto& m : agent.image_models) AddUnique(out, m.provider);
  for (const auto& m : agent.models) AddUnique(out, m.ref.provider);
  if (agent.policy)
    for (const auto& entry : agent.policy->allow) {
      std::string_view e = text::Trim(entry);
      if (e.size() >= 2 && e.substr(e.size() - 2) == "/*") AddUnique(out, text::ToLower(e.substr(0, e.find('/'))));
    }
  std::sort(out.begin(), out.end());
  return out;
}

CatalogPlan PlanCatalog(const Config& config, const AgentView& agent,
                        const std::function<bool(std::string_view)>& has_credential) {
  CatalogPlan plan;
  for (const auto& p : ReferencedProviders(agent))
    if (!has_credential(p)) plan.uncredentialed.push_back(p);
  plan.unscoped = !plan.uncredentialed.empty();
  for (const auto& row : config.catalog()) {
    // Rows of a provider without a credential are not offered, as in OpenClaw. The unscoped build
    // keeps those the config names, and all of anthropic's, which OpenClaw ships statically.
    bool keep = has_credential(row.ref.provider) ||
                (plan.unscoped && (Configured(agent, row.ref) || row.ref.provider == "anthropic"));
    if (keep) plan.rows.push_back(row);
  }
  if (plan.unscoped && !has_credential("anthropic")) {
    // Reorder the anthropic rows among the places they hold.
    std::vector<size_t> at;
    std::vector<CatalogRow> rows;
    for (size_t i = 0; i < plan.rows.size(); ++i)
      if (plan.rows[i].ref.provider == "anthropic") {
        at.push_back(i);
        rows.push_back(plan.rows[i]);
      }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const CatalogRow& a, const CatalogRow& b) { return ManifestRank(a) < ManifestRank(b); });
    for (size_t k = 0; k < at.size(); ++k) plan.rows[at[k]] = std::move(rows[k]);
  }
  if (plan.unscoped) {
    // OpenClaw sorts its catalog by provider: claude-cli rows go before the first provider that
    // sorts after "claude-cli", keeping their manifest order.
    auto at = std::find_if(plan.rows.begin(), plan.rows.end(),
                           [](const CatalogRow& r) { return r.ref.provider > std::string_view("claude-cli"); });
    plan.rows.insert(at, CliRows().begin(), CliRows().end());
  }
  return plan;
}

}  // namespace modelpin
