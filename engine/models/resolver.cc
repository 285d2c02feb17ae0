#include <modelpin/engine/models/resolver.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/absl_view.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/models/provider_tables.h>

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 9> kVariantTokens = {"lightning", "preview", "mini", "fast", "turbo",
                                                           "lite",      "beta",    "small", "nano"};

bool Contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }
bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// One term of the fuzzy score: `exact` when v is f, `starts` when it starts with f, `contains`
// when it holds f, else 0.
int Frag(std::string_view v, std::string_view f, int exact, int starts, int contains) {
  if (v == f) return exact;
  if (StartsWith(v, f)) return starts;
  if (Contains(v, f)) return contains;
  return 0;
}

// Edit distance with OpenClaw's cut-off: anything above 3 is "no distance" (-1).
int BoundedLevenshtein(std::string_view a, std::string_view b) {
  constexpr int kMax = 3;
  if (a == b) return 0;
  size_t la = a.size(), lb = b.size();
  if ((la > lb ? la - lb : lb - la) > kMax) return -1;
  std::vector<int> prev(lb + 1), cur(lb + 1);
  for (size_t j = 0; j <= lb; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= la; ++i) {
    cur[0] = static_cast<int>(i);
    int row_min = cur[0];
    for (size_t j = 1; j <= lb; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > kMax) return -1;
    std::swap(prev, cur);
  }
  return prev[lb] > kMax ? -1 : prev[lb];
}

int VariantCount(std::string_view s) {
  int n = 0;
  for (auto t : kVariantTokens) n += Contains(s, t) ? 1 : 0;
  return n;
}

// `s` lower-cased (ASCII), kept on the stack when short: references are resolved on every
// /model message, and absl's string maps look up a string_view, so a short reference is
// lower-cased and looked up without an allocation.
class AsciiLower {
 public:
  explicit AsciiLower(std::string_view s) {
    char* out = small_;
    if (s.size() > sizeof(small_)) {
      large_.resize(s.size());
      out = large_.data();
    }
    for (size_t i = 0; i < s.size(); ++i) out[i] = text::LowerAscii(s[i]);
    view_ = std::string_view(out, s.size());
  }
  AsciiLower(const AsciiLower&) = delete;
  AsciiLower& operator=(const AsciiLower&) = delete;
  std::string_view view() const { return view_; }

 private:
  char small_[64];
  std::string large_;
  std::string_view view_;
};

// The selection of a configured alias, built straight inside a std::optional: its in_place
// constructor calls the conversion, whose result is the optional's value itself (no Selection
// is moved and destroyed, as `return Selection{...}` does on this, the most common path).
struct AliasSelection {
  const ModelAliasEntry& entry;
  operator Selection() const { return Selection{entry.ref, entry.alias, false}; }
};

}  // namespace

ModelResolver::ModelResolver(const Config& config, const AgentView& agent, std::vector<CatalogRow> catalog,
                             bool strict)
    : config_(config), agent_(agent), catalog_(std::move(catalog)), strict_(strict) {
  for (size_t i = 0; i < agent_.models.size(); ++i) {
    const auto& e = agent_.models[i];
    if (e.alias.empty()) continue;
    aliases_[text::ToLower(e.alias)] = i;
    key_aliases_[e.ref.Key()].push_back(e.alias);
  }
  auto add_key = [&](std::string key) {
    if (allowed_key_set_.insert(key).second) allowed_keys_.push_back(std::move(key));
  };
  if (!agent_.policy) {
    for (const auto& row : catalog_) add_key(row.ref.Key());
    add_key(agent_.default_ref.Key());
  } else {
    for (const auto& entry : agent_.policy->allow) {
      std::string_view e = text::Trim(entry);
      PolicyRule rule{entry, false, "", {}};
      if (e.size() >= 2 && e.substr(e.size() - 2) == "/*") {
        // "anthropic/*" allows "anthropic/..."; "openrouter/moonshotai/*" allows
        // "openrouter/moonshotai/...". Only the provider segment is case-folded.
        std::string_view prefix = e.substr(0, e.size() - 1);
        size_t slash = prefix.find('/');
        rule.wildcard = true;
        rule.prefix = text::ToLower(prefix.substr(0, slash)) + std::string(prefix.substr(slash));
        add_key(std::string(e));
      } else {
        rule.ref = ResolvePolicyEntry(e);
      }
      rules_.push_back(std::move(rule));
    }
    for (const auto& row : catalog_)
      if (Permitted(row.ref)) add_key(row.ref.Key());
    for (const auto& r : rules_)
      if (!r.wildcard) add_key(r.ref.Key());
  }
  auto add_known = [&](const ModelRef& r) {
    if (std::find(known_.begin(), known_.end(), r) == known_.end()) known_.push_back(r);
  };
  for (const auto& row : catalog_) add_known(row.ref);
  add_known(agent_.default_ref);
  for (const auto& r : agent_.fallbacks) add_known(r);
  for (const auto& r : agent_.image_models) add_known(r);
  for (const auto& m : agent_.models) add_known(m.ref);
  for (const auto& r : rules_)
    if (!r.wildcard) add_known(r.ref);
}

ModelRef ModelResolver::ResolvePolicyEntry(std::string_view entry) const {
  auto it = aliases_.find(text::ToLower(entry));
  if (it != aliases_.end()) return agent_.models[it->second].ref;
  if (entry.find('/') != std::string_view::npos) {
    ModelRef r = ParseConfigRef(entry);
    r.model = NormalizeModelId(r.provider, r.model);
    return r;
  }
  // A bare entry takes the provider of a unique catalog/config match, else the default provider.
  std::string provider;
  int matches = 0;
  auto consider = [&](const ModelRef& r) {
    if (r.model == entry && r.provider != provider) {
      provider = r.provider;
      ++matches;
    }
  };
  for (const auto& row : catalog_) consider(row.ref);
  for (const auto& m : agent_.models) consider(m.ref);
  if (matches != 1) provider = agent_.default_ref.provider;
  return {provider, NormalizeModelId(provider, entry)};
}

const ModelResolver::PolicyRule* ModelResolver::RuleFor(const ModelRef& ref) const {
  std::string label = ref.Label();
  for (const auto& r : rules_)
    if (r.wildcard ? StartsWith(label, r.prefix) : r.ref == ref) return &r;
  return nullptr;
}

std::string ModelResolver::PolicyEntryFor(const ModelRef& ref) const {
  const PolicyRule* r = RuleFor(ref);
  return r ? r->entry : "";
}

bool ModelResolver::Permitted(const ModelRef& ref) const { return !agent_.policy || RuleFor(ref) != nullptr; }

ResolveError ModelResolver::NotAllowed(const std::string& label) const {
  return ResolveError{absl::StrCat("Model \"", label,
                                   "\" is not allowed. Use /models to list providers, or /models <provider> to list "
                                   "models.\nAdd \"",
                                   label, "\" or its provider wildcard to ", agent_.policy->path,
                                   ".\nThen retry: /model ", label),
                      label, {}};
}

std::string ModelResolver::AliasOfKey(const std::string& key) const {
  auto it = key_aliases_.find(key);
  return it == key_aliases_.end() ? std::string() : it->second.front();
}

std::optional<Selection> ModelResolver::Normalize(std::string_view raw) const {
  std::string_view ref = text::Trim(raw);
  if (ref.empty()) return std::nullopt;
  const AsciiLower lower(ref);
  // 1. Alias.
  if (const ModelAliasEntry* e = AliasNamed(lower.view()))
    return std::optional<Selection>(std::in_place, AliasSelection{*e});
  return NormalizeUnaliased(ref, lower.view());
}

const ModelAliasEntry* ModelResolver::AliasNamed(std::string_view lower) const {
  auto it = aliases_.find(AbslView(lower));
  return it == aliases_.end() ? nullptr : &agent_.models[it->second];
}

std::optional<Selection> ModelResolver::NormalizeUnaliased(std::string_view ref, std::string_view lower) const {
  size_t slash = ref.find('/');
  // 2. Provider-scoped alias: "anthropic/sonnet".
  if (slash != std::string_view::npos && slash > 0) {
    std::string_view provider = lower.substr(0, slash);
    if (auto it = aliases_.find(AbslView(lower.substr(slash + 1))); it != aliases_.end()) {
      const auto& e = agent_.models[it->second];
      if (e.ref.provider == provider) return Selection{e.ref, e.alias, false};
    }
  }
  // 3. The one spelled-out special case.
  if (lower == "openrouter:auto") return Selection{{"openrouter", "openrouter/auto"}, "", false};
  // 4. Split at the first '/'.
  ModelRef r;
  if (slash == std::string_view::npos) {
    r = {agent_.default_ref.provider, std::string(ref)};
  } else {
    if (slash == 0 || slash + 1 == ref.size()) return std::nullopt;
    r = {std::string(lower.substr(0, slash)), std::string(ref.substr(slash + 1))};
  }
  // 5. Provider rewrite tables.
  r.model = NormalizeModelId(r.provider, r.model);
  if (r.model.empty()) return std::nullopt;
  return Selection{std::move(r), "", false};
}

int ModelResolver::Score(std::string_view f, const std::string& p, const std::string& m) const {
  std::string ml = text::ToLower(m);
  std::string h = p + "/" + ml;
  int score = Frag(h, f, 220, 140, 110) + Frag(p, f, 180, 120, 90) + Frag(ml, f, 160, 110, 80);
  if (int d = BoundedLevenshtein(f, ml); d >= 0) score += (3 - d) * 70;
  auto it = key_aliases_.find(ModelRef{p, m}.Key());
  if (it != key_aliases_.end())
    for (const auto& a : it->second) score += Frag(text::ToLower(a), f, 140, 90, 60);
  if (StartsWith(ml, p)) score += 30;
  int fv = 0, mv = 0, hit = 0;
  for (auto t : kVariantTokens) {
    bool in_f = Contains(f, t), in_m = Contains(ml, t);
    fv += in_f;
    mv += in_m;
    hit += in_f && in_m;
  }
  if (fv == 0) score -= 30 * mv;
  else score += hit > 0 ? 40 * hit : -20;
  if (ModelRef{p, m} == agent_.default_ref) score += 20;
  return score;
}

std::vector<FuzzyCandidate> ModelResolver::RankFuzzy(std::string_view fragment, std::string_view pf) const {
  std::string f = text::ToLower(text::Trim(fragment));
  std::vector<FuzzyCandidate> out;
  if (f.empty()) return out;
  absl::flat_hash_set<std::string> seen;
  auto add = [&](ModelRef r) {
    if (!r.model.empty() && r.model.back() == '*') return;
    if (!Permitted(r)) return;
    if (!pf.empty() && r.provider != pf) return;
    std::string id = r.Label();
    if (!seen.insert(id).second) return;
    out.push_back({std::move(r), 0});
  };
  if (strict_) {
    // Strict mode keeps provider and id together (docs/strict-mode.md): candidates are the models this
    // agent knows, never keys split at their first '/'.
    for (const auto& r : known_) add(r);
  } else {
    for (const auto& key : allowed_keys_) {
      size_t slash = key.find('/');
      if (slash == std::string::npos || slash == 0) continue;
      // Split at the first '/', as OpenClaw does; a collapsed key such as "openrouter/auto"
      // thus yields model "auto" (kept for compatibility; docs/strict-mode.md).
      add({key.substr(0, slash), key.substr(slash + 1)});
    }
  }
  if (pf.empty()) {
    for (const auto& e : agent_.models)
      if (!e.alias.empty() && Contains(text::ToLower(e.alias), f))
        add(e.ref);
  }
  // The order's keys, computed once per candidate (not once per comparison): score, then the
  // agent's default first, then more of the fragment's variant tokens, fewer variant tokens in
  // all, a shorter id, and the key.
  struct Ranked {
    int score;
    bool is_default;
    int hits;
    int variants;
    std::string key;
    size_t index;
  };
  std::vector<Ranked> keys;
  keys.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    FuzzyCandidate& c = out[i];
    c.score = Score(f, c.ref.provider, c.ref.model);
    const std::string ml = text::ToLower(c.ref.model);
    int h = 0;
    for (auto t : kVariantTokens) h += Contains(f, t) && Contains(ml, t);
    keys.push_back({c.score, c.ref == agent_.default_ref, h, VariantCount(ml), c.ref.Key(), i});
  }
  std::stable_sort(keys.begin(), keys.end(), [&](const Ranked& a, const Ranked& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.is_default != b.is_default) return a.is_default;
    if (a.hits != b.hits) return a.hits > b.hits;
    if (a.variants != b.variants) return a.variants < b.variants;
    const size_t la = out[a.index].ref.model.size(), lb = out[b.index].ref.model.size();
    if (la != lb) return la < lb;
    return a.key < b.key;
  });
  std::vector<FuzzyCandidate> sorted;
  sorted.reserve(out.size());
  for (const Ranked& k : keys) sorted.push_back(std::move(out[k.index]));
  return sorted;
}

std::variant<Selection, ResolveError> ModelResolver::Resolve(std::string_view raw, std::vector<std::string>* trace) const {
  std::string_view ref = text::Trim(raw);
  auto note = [&](std::string line) {
    if (trace) trace->push_back(std::move(line));
  };
  auto fuzzy = [&](std::string_view f, std::string_view pf, int threshold) -> std::optional<Selection> {
    auto ranked = RankFuzzy(f, pf);
    if (trace) {
      note(absl::StrCat("fuzzy \"", text::ToLower(f), "\"", pf.empty() ? "" : absl::StrCat(" within ", std::string(pf)),
                        " (threshold ", threshold, "):"));
      for (size_t i = 0; i < ranked.size() && i < 5; ++i)
        note(absl::StrCat("  ", ranked[i].score, "  ", ranked[i].ref.Label()));
    }
    if (ranked.empty() || ranked.front().score < threshold) return std::nullopt;
    const ModelRef& r = ranked.front().ref;
    return Selection{r, AliasOfKey(r.Key()), true};
  };

  std::optional<Selection> r;  // Normalize(ref), with the lower-cased text and alias lookup at hand
  if (!ref.empty()) {
    const AsciiLower lower(ref);
    const ModelAliasEntry* alias = AliasNamed(lower.view());
    // The usual "/model <alias>": an alias the policy allows is taken as it is (the general path
    // below concludes the same) and is built straight into the result instead of moved there.
    if (alias != nullptr && !strict_ && !trace && Permitted(alias->ref))
      return std::variant<Selection, ResolveError>(std::in_place_type<Selection>, AliasSelection{*alias});
    if (alias != nullptr) r.emplace(AliasSelection{*alias});
    else r = NormalizeUnaliased(ref, lower.view());
  }
  bool has_slash = ref.find('/') != std::string_view::npos;
  if (strict_) return ResolveStrict(ref, r, trace);
  if (!r) {
    if (trace) note("not resolvable as provider/model");
    if (auto s = fuzzy(ref, "", 120)) return *s;
    return ResolveError{absl::StrCat("Unrecognized model \"", text::EchoSafe(ref),
                                     "\". Use /models to list providers, or /models <provider> to list models."),
                       ""};
  }
  if (trace) note(absl::StrCat("resolved to ", r->ref.Label(), r->alias.empty() ? "" : absl::StrCat(" via alias ", r->alias)));
  bool permitted = Permitted(r->ref);
  // An alias or a typed '/' is taken as it is; only a bare id needs the key lookup.
  bool in_keys = (trace || (permitted && !has_slash && r->alias.empty())) && allowed_key_set_.count(r->ref.Key()) > 0;
  if (trace) {
    std::string entry = PolicyEntryFor(r->ref);
    note(agent_.policy ? (permitted ? absl::StrCat("policy ", agent_.policy->path, ": allowed by \"", entry, "\"")
                                    : absl::StrCat("policy ", agent_.policy->path, ": no entry allows it"))
                       : "policy: none (every model allowed)");
    note(absl::StrCat("allowed-key check: ", r->ref.Key(), in_keys ? " is" : " is not",
                      " a catalog or configured key; typed with '/': ", has_slash ? "yes" : "no"));
  }
  if (permitted && (has_slash || !r->alias.empty() || in_keys)) return std::move(*r);
  if (has_slash) {
    size_t slash = ref.find('/');
    std::string pf = text::ToLower(ref.substr(0, slash));
    if (auto s = fuzzy(ref.substr(slash + 1), pf, 90)) return *s;
  }
  if (auto s = fuzzy(ref, "", 120)) return *s;
  if (permitted) return *r;
  return NotAllowed(r->ref.Label());
}

std::variant<Selection, ResolveError> ModelResolver::ResolveStrict(std::string_view ref,
                                                                  const std::optional<Selection>& r,
                                                                  std::vector<std::string>* trace) const {
  auto note = [&](std::string line) {
    if (trace) trace->push_back(std::move(line));
  };
  if (r) {
    if (trace) note(absl::StrCat("strict: resolved to ", r->ref.Label(), r->alias.empty() ? "" : " via alias " + r->alias));
    // A model the agent knows, exactly or but for the case of its id, is taken.
    const ModelRef* match = nullptr;
    for (const auto& k : known_) {
      if (k == r->ref) {
        match = &k;
        break;
      }
      if (!match && k.provider == r->ref.provider && text::ToLower(k.model) == text::ToLower(r->ref.model)) match = &k;
    }
    if (!r->alias.empty() || match) {
      Selection sel{match ? *match : r->ref, r->alias, false};
      if (sel.alias.empty()) sel.alias = AliasOfKey(sel.ref.Key());
      if (!Permitted(sel.ref)) return NotAllowed(sel.ref.Label());
      return sel;
    }
  }
  // Anything else is refused, with the best three candidates instead of a silent substitute.
  ResolveError err;
  for (const auto& c : RankFuzzy(ref, "")) {
    // 80 is the weakest real match (the fragment occurs in the id); below that are bonuses only.
    if (err.suggestions.size() == 3 || c.score < 80) break;
    std::string alias = AliasOfKey(c.ref.Key());
    err.suggestions.push_back(alias.empty() ? c.ref.Label() : alias + " (" + c.ref.Label() + ")");
  }
  if (trace) note(absl::StrCat("strict: not a known model; ", err.suggestions.size(), " suggestion(s)"));
  std::string hint = r ? absl::StrCat(" To use a model outside the catalog, add it to models.providers.", r->ref.provider,
                                      ".models.")
                       : "";
  if (err.suggestions.empty()) {
    err.text = absl::StrCat("Unknown model \"", text::EchoSafe(ref),
                            "\". Use /models to list providers, or /models <provider> to list models.", hint);
  } else {
    err.text = absl::StrCat("Unknown model \"", text::EchoSafe(ref), "\". Did you mean: ", absl::StrJoin(err.suggestions, ", "),
                            "?", hint);
  }
  return err;
}

}  // namespace modelpin
