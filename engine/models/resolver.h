// Turns what a user typed after /model into a provider/model selection, as OpenClaw does
// (docs/explain.md shows each step): aliases, provider-scoped aliases, provider id rewrites, the model policy, and
// the scored fuzzy matcher. Pure: built once per agent configuration, then only reads.
//
//   ModelResolver r(config, config.Agent("main"), config.catalog());
//   auto sel = r.Resolve("sonnet");        // Selection{anthropic/claude-sonnet-4-5, alias "sonnet"}
//   auto bad = r.Resolve("x");             // under an allowlist: ResolveError{"Model \"anthropic/x\" ..."}
#ifndef MODELPIN_ENGINE_MODELS_RESOLVER_H_
#define MODELPIN_ENGINE_MODELS_RESOLVER_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/config/model_ref.h>

namespace modelpin {

struct Selection {
  ModelRef ref;
  std::string alias;        // alias for the reply label, "" for none
  bool fuzzy = false;       // found by the fuzzy matcher, not taken as typed
  // "opus (anthropic/claude-opus-4-5)" or "anthropic/claude-opus-4-5".
  // Appended by hand into one exact allocation: absl::StrCat's general path (a piece list, a
  // resize, then the copies) cost ~40% more.
  std::string Label() const {
    std::string label;
    label.reserve(LabelSize());
    LabelParts([&label](std::string_view part) { label.append(part); });
    return label;
  }
  // The label's parts in order ("opus", " (", "anthropic", "/", "claude-opus-4-5", ")"), each
  // passed to `add`, and their total size: for a writer that copies them straight into a reply
  // (every /model acknowledgement does).
  template <typename Add>
  void LabelParts(Add&& add) const {
    if (!alias.empty()) add(std::string_view(alias)), add(std::string_view(" ("));
    add(std::string_view(ref.provider)), add(std::string_view("/")), add(std::string_view(ref.model));
    if (!alias.empty()) add(std::string_view(")"));
  }
  size_t LabelSize() const {
    return (alias.empty() ? 0 : alias.size() + 3) + ref.provider.size() + 1 + ref.model.size();
  }
};

struct ResolveError {
  std::string text{};
  // Set for the policy refusal: the refused "provider/model" (callers append " --runtime X").
  std::string not_allowed{};
  // Strict mode: the best candidates offered in "Did you mean ...?".
  std::vector<std::string> suggestions{};
};

// One scored fuzzy candidate, for `explain` and "did you mean".
struct FuzzyCandidate {
  ModelRef ref;
  int score = 0;
};

class ModelResolver {
 public:
  // `catalog` is the visible catalog (rows whose provider can be used). `strict`: no silent
  // fuzzy substitution and no literal acceptance of unknown ids (docs/strict-mode.md).
  ModelResolver(const Config& config, const AgentView& agent, std::vector<CatalogRow> catalog, bool strict = false);

  // Resolves a reference (no profile part). `trace`, when given, receives one line per step.
  std::variant<Selection, ResolveError> Resolve(std::string_view ref, std::vector<std::string>* trace = nullptr) const;

  // The first steps alone: alias, provider alias, split, rewrite. nullopt = unresolvable.
  std::optional<Selection> Normalize(std::string_view ref) const;
  // The policy entry that allows `ref` ("" when none does, or there is no policy).
  std::string PolicyEntryFor(const ModelRef& ref) const;
  // Whether the policy allows `ref` (no policy: everything).
  bool Permitted(const ModelRef& ref) const;
  // Models this agent knows by name: catalog rows, configured models, exact policy entries.
  const std::vector<ModelRef>& known() const { return known_; }
  bool strict() const { return strict_; }
  // OpenClaw's fuzzy ranking (best first), without the threshold.
  std::vector<FuzzyCandidate> RankFuzzy(std::string_view fragment, std::string_view provider_filter) const;
  // First configured alias of a model key ("" if none).
  std::string AliasOfKey(const std::string& key) const;
  // The agent's effective default model.
  const ModelRef& default_ref() const { return agent_.default_ref; }
  // Allowed model keys (agents.defaults.modelPolicy.allow), in insertion order.
  const std::vector<std::string>& allowed_keys() const { return allowed_keys_; }
  const std::vector<CatalogRow>& catalog() const { return catalog_; }
  const AgentView& agent() const { return agent_; }
  const Config& config() const { return config_; }
  // Resolves a policy entry (exact refs only) to the ref it names.
  ModelRef ResolvePolicyEntry(std::string_view entry) const;

  // The agent's policy, parsed once: entries in config order, each a "provider/..." wildcard
  // (with the label prefix it allows) or an exact entry (with the ref it names).
  struct PolicyRule {
    std::string entry;   // as written in the config
    bool wildcard = false;
    std::string prefix;  // wildcard: "anthropic/" for "anthropic/*" (provider segment lower-cased)
    ModelRef ref;        // exact: the ref it names
  };
  const std::vector<PolicyRule>& policy_rules() const { return rules_; }

 private:
  // The configured alias a trimmed, lower-cased reference names (step 1 of Normalize), or nullptr.
  const ModelAliasEntry* AliasNamed(std::string_view lower) const;
  // Steps 2-5 of Normalize, for a trimmed reference that is not an alias, and its lower case.
  std::optional<Selection> NormalizeUnaliased(std::string_view ref, std::string_view lower) const;
  int Score(std::string_view f, const std::string& p, const std::string& m) const;
  const PolicyRule* RuleFor(const ModelRef& ref) const;  // first rule allowing `ref`, or nullptr
  // The policy refusal for `label` ("Model \"p/m\" is not allowed. ...").
  ResolveError NotAllowed(const std::string& label) const;
  std::variant<Selection, ResolveError> ResolveStrict(std::string_view ref, const std::optional<Selection>& r,
                                                      std::vector<std::string>* trace) const;

  const Config& config_;
  const AgentView& agent_;
  std::vector<CatalogRow> catalog_;
  // lower-cased alias -> index into agent_.models (later entries win, as in OpenClaw).
  absl::flat_hash_map<std::string, size_t> aliases_;
  // model key -> aliases of that key, in config order.
  absl::flat_hash_map<std::string, std::vector<std::string>> key_aliases_;
  std::vector<std::string> allowed_keys_;
  absl::flat_hash_set<std::string> allowed_key_set_;
  std::vector<PolicyRule> rules_;
  std::vector<ModelRef> known_;
  bool strict_ = false;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_MODELS_RESOLVER_H_
