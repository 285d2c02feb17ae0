// The model catalog an agent's sessions see, derived from the config catalog and the agent's
// credentials, as OpenClaw publishes it.
//
// OpenClaw refreshes its catalog one provider at a time while every provider the agent's config
// refers to has a usable credential; each scoped refresh keeps only its own provider's rows.
// When a referenced provider has none (say `auth.order.openrouter: []` while an alias points at
// an OpenRouter model), it builds the catalog once over every provider instead. That unscoped
// build brings in the rows OpenClaw ships for its `claude-cli` provider (Claude models through a
// Claude Code subscription, authenticated by the anthropic profiles) and keeps, of each
// uncredentialed provider, only the rows the config names.
//
//   CatalogPlan plan = PlanCatalog(config, agent, [&](std::string_view p) { return HasCredential(p); });
//   plan.unscoped;   // true: claude-cli rows are part of plan.rows
#ifndef MODELPIN_ENGINE_MODELS_CATALOG_H_
#define MODELPIN_ENGINE_MODELS_CATALOG_H_

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/engine/config/config.h>

namespace modelpin {

struct CatalogPlan {
  std::vector<CatalogRow> rows;  // the config's rows in config order, claude-cli's before the first provider after it
  bool unscoped = false;         // the unscoped build ran (claude-cli rows are in `rows`)
  std::vector<std::string> uncredentialed;  // referenced providers without a usable credential
};

// `has_credential(provider)`: whether the agent can authenticate the provider (an eligible stored
// profile or an environment key).
CatalogPlan PlanCatalog(const Config& config, const AgentView& agent,
                        const std::function<bool(std::string_view)>& has_credential);

// The providers the agent's config refers to: default, fallbacks, image models, model keys and
// policy wildcards. Sorted, unique.
std::vector<std::string> ReferencedProviders(const AgentView& agent);

// The rows OpenClaw 2026.9.6 ships for provider "claude-cli", in its manifest order.
std::span<const CatalogRow> ClaudeCliCatalog();

// The Claude model ids OpenClaw's anthropic plugin ships: its static anthropic catalog and the
// claude-cli rows (route variants of the same models). Exact, case-sensitive.
bool IsBundledClaudeModel(std::string_view id);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_MODELS_CATALOG_H_
