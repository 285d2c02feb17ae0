#include <modelpin/engine/config/config.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include <modelpin/base/clock.h>
#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/config/config_keys.h>
#include <modelpin/engine/config/json_reader.h>
#include <modelpin/engine/config/routes_reader.h>
#include <modelpin/engine/config/thinking_levels.h>
#include <modelpin/engine/events/events.h>

namespace modelpin {
namespace {

using rapidjson::Value;
using Reader = JsonReader;  // the section readers' short name

std::string UnknownLevel(std::string_view level) {
  return absl::StrCat("unknown thinking level \"", std::string(level),
                      "\" (expected off, minimal, low, medium, adaptive, high, xhigh, max or ultra)");
}

// A primary model reference. An empty one is refused: OpenClaw silently falls back to a built-in
// default of its own (openai/gpt-6-astra in 2026.9.6), a model the operator never chose.
absl::StatusOr<ModelRef> ReadPrimary(const Reader& r, const Value& v, const std::string& path) {
  ASSIGN_OR_RETURN(std::string s, r.String(v, path));
  if (absl::StripAsciiWhitespace(s).empty())
    return r.file().Error(path, "expected a model reference \"provider/model\", found an empty string "
                                "(remove the key to use the default)");
  return ParseConfigRef(s);
}

// modelpin.rotation: {"auth": "cooldown"|"disable"|"until_changed", "billing": "10m-doubling"|"<duration>",
// "rate_limit": "backoff"|"retry_after", "timeout": "cooldown"|"retry_once",
// "strategy": {"<provider>"|"*": "round_robin"|"fill_first"|"least_used"|"random"}, "seed": N}.
absl::Status ReadRotation(const Reader& r, const Value& v, RotationPolicy* out) {
  const std::string base = "$.modelpin.rotation";
  RETURN_IF_ERROR(r.Object(v, base));
  auto choice = [&](const char* key, std::initializer_list<const char*> allowed) -> absl::StatusOr<std::string> {
    const Value* x = Reader::Get(v, key);
    if (x == nullptr) return std::string(*allowed.begin());
    ASSIGN_OR_RETURN(std::string s, r.String(*x, base + "." + key));
    for (const char* a : allowed)
      if (s == a) return s;
    if (std::string(key) == "billing" && ParseDurationMs(s)) return s;
    std::string names;
    for (const char* a : allowed) absl::StrAppend(&names, names.empty() ? "" : ", ", a);
    if (std::string(key) == "billing") names += " or a duration such as 5h";
    return r.file().Error(base + "." + key, absl::StrCat("unknown value \"", s, "\" (expected ", names, ")"));
  };
  ASSIGN_OR_RETURN(std::string auth, choice("auth", {"cooldown", "disable", "until_changed"}));
  out->auth = auth == "until_changed" ? AuthFailurePolicy::kUntilChanged
              : auth == "disable"     ? AuthFailurePolicy::kDisable
                                      : AuthFailurePolicy::kCooldown;
  ASSIGN_OR_RETURN(std::string billing, choice("billing", {"10m-doubling"}));
  out->billing_disable_ms = billing == "10m-doubling" ? 0 : *ParseDurationMs(billing);
  ASSIGN_OR_RETURN(std::string rate, choice("rate_limit", {"backoff", "retry_after"}));
  out->rate_limit_retry_after = rate == "retry_after";
  ASSIGN_OR_RETURN(std::string timeout, choice("timeout", {"cooldown", "retry_once"}));
  out->timeout_retry_once = timeout == "retry_once";
  if (const Value* st = Reader::Get(v, "strategy")) {
    RETURN_IF_ERROR(r.Object(*st, base + ".strategy"));
    for (auto it = st->MemberBegin(); it != st->MemberEnd(); ++it) {
      std::string provider(it->name.GetString(), it->name.GetStringLength());
      std::string path = JoinPath(base + ".strategy", provider);
      ASSIGN_OR_RETURN(std::string name, r.String(it->value, path));
      auto s = ParseStrategy(name);
      if (!s)
        return r.file().Error(path, absl::StrCat("unknown strategy \"", name,
                                                 "\" (expected round_robin, fill_first, least_used, random or quota_aware)"));
      out->strategy[provider == "*" ? provider : text::ToLower(provider)] = *s;
    }
  }
  if (const Value* seed = Reader::Get(v, "seed")) {
    if (!seed->IsUint64()) return r.file().Error(base + ".seed", "expected a whole number");
    out->seed = seed->GetUint64();
  }
  if (const Value* t = Reader::Get(v, "quotaThreshold")) {
    if (!t->IsNumber() || t->GetDouble() < 0 || t->GetDouble() > 1)
      return r.file().Error(base + ".quotaThreshold", "expected a share from 0 to 1 (0.2: under 20 % left)");
    out->quota_threshold = t->GetDouble();
  }
  return absl::OkStatus();
}

// modelpin.probe: {"enabled": bool, "intervalMs": N, "timeoutMs": N, "maxTokens": N}.
absl::Status ReadProbe(const Reader& r, const Value& v, ProbePolicy* out) {
  const std::string base = "$.modelpin.probe";
  RETURN_IF_ERROR(r.Object(v, base));
  if (const Value* e = Reader::Get(v, "enabled")) {
    ASSIGN_OR_RETURN(out->enabled, r.Bool(*e, base + ".enabled"));
  }
  auto whole = [&](const char* key, int64_t lo, int64_t hi, const char* what) -> absl::StatusOr<std::optional<int64_t>> {
    const Value* x = Reader::Get(v, key);
    if (x == nullptr) return std::optional<int64_t>();
    if (!x->IsInt64() || x->GetInt64() < lo || x->GetInt64() > hi)
      return r.file().Error(base + "." + key, absl::StrCat("expected ", what, " from ", lo, " to ", hi));
    return std::optional<int64_t>(x->GetInt64());
  };
  ASSIGN_OR_RETURN(auto interval, whole("intervalMs", 1000, 7 * 86'400'000LL, "a number of milliseconds"));
  if (interval) out->interval_ms = *interval;
  ASSIGN_OR_RETURN(auto timeout, whole("timeoutMs", 100, 600'000, "a number of milliseconds"));
  if (timeout) out->timeout_ms = *timeout;
  ASSIGN_OR_RETURN(auto tokens, whole("maxTokens", 1, 4096, "a number of tokens"));
  if (tokens) out->max_tokens = static_cast<int>(*tokens);
  return absl::OkStatus();
}

// models.providers.<p>.models[].cost: {"input", "output", "cacheRead", "cacheWrite"}, USD per
// million tokens, each a number >= 0 (a missing one is 0: the row has a price).
absl::StatusOr<ModelPrice> ReadModelPrice(const Reader& r, const Value& v, const std::string& path) {
  RETURN_IF_ERROR(r.Object(v, path));
  ModelPrice p;
  std::pair<const char*, double*> keys[] = {
      {"input", &p.input}, {"output", &p.output}, {"cacheRead", &p.cache_read}, {"cacheWrite", &p.cache_write}};
  for (auto& [key, out] : keys) {
    const Value* x = Reader::Get(v, key);
    if (x == nullptr) continue;
    if (!x->IsNumber() || x->GetDouble() < 0)
      return r.file().Error(absl::StrCat(path, ".", key), "expected a price >= 0 in USD per million tokens");
    *out = x->GetDouble();
  }
  return p;
}

// modelpin.budgets: [{"profile"|"provider"|"agent": ID, "usd"|"tokens"|"calls": LIMIT,
// "window": "5h"|"1d"|"7d"|"30d", "warnAt": 0.8}] (docs/usage-and-budgets.md).
absl::StatusOr<std::vector<Budget>> ReadBudgets(const Reader& r, const Value& v) {
  const std::string base = "$.modelpin.budgets";
  if (!v.IsArray()) return r.file().Error(base, "expected an array of budgets");
  std::vector<Budget> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const std::string at = absl::StrCat(base, "[", i, "]");
    RETURN_IF_ERROR(r.Object(v[i], at));
    Budget b;
    b.path = at;
    // Each key present is checked first, so an error names the key; then what is missing.
    int scopes = 0, measures = 0;
    for (auto [key, scope] : {std::pair{"profile", Budget::Scope::kProfile}, std::pair{"provider", Budget::Scope::kProvider},
                              std::pair{"agent", Budget::Scope::kAgent}}) {
      const Value* x = Reader::Get(v[i], key);
      if (x == nullptr) continue;
      ASSIGN_OR_RETURN(std::string target, r.String(*x, absl::StrCat(at, ".", key)));
      if (target.empty()) return r.file().Error(absl::StrCat(at, ".", key), "expected a non-empty id");
      b.scope = scope;
      b.target = scope == Budget::Scope::kProvider ? text::ToLower(target) : target;
      ++scopes;
    }
    for (auto [key, measure] : {std::pair{"usd", Budget::Measure::kUsd}, std::pair{"tokens", Budget::Measure::kTokens},
                                std::pair{"calls", Budget::Measure::kCalls}}) {
      const Value* x = Reader::Get(v[i], key);
      if (x == nullptr) continue;
      if (!x->IsNumber() || x->GetDouble() <= 0)
        return r.file().Error(absl::StrCat(at, ".", key), "expected a limit > 0");
      b.measure = measure;
      b.limit = x->GetDouble();
      ++measures;
    }
    const Value* w = Reader::Get(v[i], "window");
    if (w != nullptr) {
      ASSIGN_OR_RETURN(std::string window, r.String(*w, at + ".window"));
      auto parsed = ParseUsageWindow(window);
      if (!parsed)
        return r.file().Error(at + ".window", absl::StrCat("unknown window \"", text::EchoSafe(window, 20),
                                                           "\" (expected 5h, 1d, 7d or 30d)"));
      b.window = *parsed;
    }
    if (const Value* x = Reader::Get(v[i], "warnAt")) {
      if (!x->IsNumber() || x->GetDouble() <= 0 || x->GetDouble() > 1)
        return r.file().Error(at + ".warnAt", "expected a share of the limit, above 0 and at most 1");
      b.warn_at = x->GetDouble();
    }
    if (scopes != 1) return r.file().Error(at, "expected exactly one of \"profile\", \"provider\" or \"agent\"");
    if (measures != 1) return r.file().Error(at, "expected exactly one limit: \"usd\", \"tokens\" or \"calls\"");
    if (w == nullptr) return r.file().Error(at, "missing \"window\" (5h, 1d, 7d or 30d)");
    out.push_back(std::move(b));
  }
  return out;
}

// "model": "p/m" or {"primary": "p/m", "fallbacks": [...]}.
absl::Status ReadModelSpec(const Reader& r, const Value& v, const std::string& path, std::optional<ModelRef>* primary,
                           std::optional<std::vector<ModelRef>>* fallbacks) {
  if (v.IsString()) {
    ASSIGN_OR_RETURN(*primary, ReadPrimary(r, v, path));
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(r.Object(v, path));
  if (const Value* p = Reader::Get(v, "primary")) {
    ASSIGN_OR_RETURN(*primary, ReadPrimary(r, *p, path + ".primary"));
  }
  if (const Value* f = Reader::Get(v, "fallbacks")) {
    ASSIGN_OR_RETURN(std::vector<std::string> list, r.Strings(*f, path + ".fallbacks"));
    fallbacks->emplace();
    for (const auto& s : list) (*fallbacks)->push_back(ParseConfigRef(s));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ModelAliasEntry>> ReadModels(const Reader& r, const Value& v, const std::string& path) {
  RETURN_IF_ERROR(r.Object(v, path));
  std::vector<ModelAliasEntry> out;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    std::string entry_path = JoinPath(path, key);
    ModelAliasEntry e{key, ParseConfigRef(key), ""};
    if (!it->value.IsNull()) {
      RETURN_IF_ERROR(r.Object(it->value, entry_path));
      if (const Value* a = Reader::Get(it->value, "alias")) {
        ASSIGN_OR_RETURN(e.alias, r.String(*a, entry_path + ".alias"));
      }
      if (const Value* a = Reader::Get(it->value, "authProfile")) {
        ASSIGN_OR_RETURN(e.auth_profile, r.String(*a, entry_path + ".authProfile"));
        if (e.auth_profile.empty() || e.auth_profile.size() > 512)
          return r.file().Error(entry_path + ".authProfile", "expected an auth profile id such as \"anthropic:work\"");
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::optional<std::vector<std::string>>> ReadPolicy(const Reader& r, const Value& agent,
                                                                  const std::string& path) {
  const Value* mp = Reader::Get(agent, "modelPolicy");
  if (mp == nullptr) return std::optional<std::vector<std::string>>();
  RETURN_IF_ERROR(r.Object(*mp, path + ".modelPolicy"));
  const Value* allow = Reader::Get(*mp, "allow");
  if (allow == nullptr) return std::optional<std::vector<std::string>>();
  ASSIGN_OR_RETURN(std::vector<std::string> list, r.Strings(*allow, path + ".modelPolicy.allow"));
  return std::optional<std::vector<std::string>>(std::move(list));
}

}  // namespace

absl::StatusOr<Config> Config::Load(const std::string& path) {
  ASSIGN_OR_RETURN(JsonFile file, JsonFile::Load(path));
  return Parse(path, std::move(file.text));
}

Config Config::Empty() {
  Config c;
  c.primary_ = {"anthropic", "claude-opus-4-5"};
  c.BuildViews();
  return c;
}

// The steps of Config::Parse, one per top-level section of the document. Each reads its section
// (absent or null: nothing to read) into `c`; errors name the file, JSON path and line:column.
struct Config::Parser {
  const Reader& r;
  Config& c;

  absl::Status Agents(const Value& root) const;
  absl::Status Auth(const Value& root) const;
  absl::Status ModelProviders(const Value& root) const;
  absl::Status Modelpin(const Value& root) const;
  absl::Status Commands(const Value& root) const;
  absl::Status Plugins(const Value& root, const std::string& name) const;
};

absl::StatusOr<Config> Config::Parse(const std::string& name, std::string text) {
  ASSIGN_OR_RETURN(JsonFile file, JsonFile::Parse(name, std::move(text)));
  Reader r(file);
  const Value& root = file.doc;
  RETURN_IF_ERROR(r.Object(root, "$"));
  Config c;
  c.path_ = name;
  c.primary_ = {"anthropic", "claude-opus-4-5"};
  Parser p{r, c};
  RETURN_IF_ERROR(p.Agents(root));
  RETURN_IF_ERROR(p.Auth(root));
  RETURN_IF_ERROR(p.ModelProviders(root));
  RETURN_IF_ERROR(p.Modelpin(root));  // after Agents: routes resolve the agents' aliases
  RETURN_IF_ERROR(p.Commands(root));
  RETURN_IF_ERROR(p.Plugins(root, name));
  // Last: a wrong type is reported as such, even under a misspelt neighbour.
  RETURN_IF_ERROR(CheckConfigKeys(file, root, &c.ignored_keys_));
  c.InjectProviderDefaults();
  c.BuildViews();
  return c;
}

// agents.defaults (model, imageModel, models, modelPolicy, systemAgent) and agents.entries.<id>.
absl::Status Config::Parser::Agents(const Value& root) const {
  if (const Value* agents = Reader::Get(root, "agents")) {
    RETURN_IF_ERROR(r.Object(*agents, "$.agents"));
    if (const Value* d = Reader::Get(*agents, "defaults")) {
      RETURN_IF_ERROR(r.Object(*d, "$.agents.defaults"));
      if (const Value* m = Reader::Get(*d, "model")) {
        std::optional<ModelRef> primary;
        std::optional<std::vector<ModelRef>> fallbacks;
        RETURN_IF_ERROR(ReadModelSpec(r, *m, "$.agents.defaults.model", &primary, &fallbacks));
        if (primary) c.primary_ = *primary;
        if (fallbacks) c.fallbacks_ = *fallbacks;
      }
      if (const Value* m = Reader::Get(*d, "imageModel")) {
        std::optional<ModelRef> primary;
        std::optional<std::vector<ModelRef>> fallbacks;
        RETURN_IF_ERROR(ReadModelSpec(r, *m, "$.agents.defaults.imageModel", &primary, &fallbacks));
        if (primary) c.image_models_.push_back(*primary);
        if (fallbacks) c.image_models_.insert(c.image_models_.end(), fallbacks->begin(), fallbacks->end());
      }
      if (const Value* m = Reader::Get(*d, "models")) {
        ASSIGN_OR_RETURN(c.default_models_, ReadModels(r, *m, "$.agents.defaults.models"));
      }
      ASSIGN_OR_RETURN(c.default_allow_, ReadPolicy(r, *d, "$.agents.defaults"));
      if (const Value* sa = Reader::Get(*d, "systemAgent")) {
        RETURN_IF_ERROR(r.Object(*sa, "$.agents.defaults.systemAgent"));
        if (const Value* id = Reader::Get(*sa, "agentId")) {
          ASSIGN_OR_RETURN(c.system_agent_, r.String(*id, "$.agents.defaults.systemAgent.agentId"));
        }
      }
    }
    if (const Value* entries = Reader::Get(*agents, "entries")) {
      RETURN_IF_ERROR(r.Object(*entries, "$.agents.entries"));
      for (auto it = entries->MemberBegin(); it != entries->MemberEnd(); ++it) {
        std::string id(it->name.GetString(), it->name.GetStringLength());
        std::string path = JoinPath("$.agents.entries", id);
        RETURN_IF_ERROR(r.Object(it->value, path));
        AgentEntry e;
        if (const Value* m = Reader::Get(it->value, "model")) {
          RETURN_IF_ERROR(ReadModelSpec(r, *m, path + ".model", &e.primary, &e.fallbacks));
        }
        if (const Value* m = Reader::Get(it->value, "models")) {
          ASSIGN_OR_RETURN(e.models, ReadModels(r, *m, path + ".models"));
        }
        ASSIGN_OR_RETURN(e.allow, ReadPolicy(r, it->value, path));
        c.entries_[id] = std::move(e);
      }
    }
  }
  return absl::OkStatus();
}

// auth.profiles (provider and mode per profile id) and auth.order.<provider>.
absl::Status Config::Parser::Auth(const Value& root) const {
  if (const Value* auth = Reader::Get(root, "auth")) {
    RETURN_IF_ERROR(r.Object(*auth, "$.auth"));
    if (const Value* profiles = Reader::Get(*auth, "profiles")) {
      RETURN_IF_ERROR(r.Object(*profiles, "$.auth.profiles"));
      for (auto it = profiles->MemberBegin(); it != profiles->MemberEnd(); ++it) {
        AuthProfileConfig p;
        p.id.assign(it->name.GetString(), it->name.GetStringLength());
        std::string path = JoinPath("$.auth.profiles", p.id);
        RETURN_IF_ERROR(r.Object(it->value, path));
        if (const Value* v = Reader::Get(it->value, "provider")) {
          ASSIGN_OR_RETURN(p.provider, r.String(*v, path + ".provider"));
        }
        if (const Value* v = Reader::Get(it->value, "mode")) {
          ASSIGN_OR_RETURN(p.mode, r.String(*v, path + ".mode"));
        }
        c.auth_profiles_.push_back(std::move(p));
      }
    }
    if (const Value* order = Reader::Get(*auth, "order")) {
      RETURN_IF_ERROR(r.Object(*order, "$.auth.order"));
      for (auto it = order->MemberBegin(); it != order->MemberEnd(); ++it) {
        std::string provider(it->name.GetString(), it->name.GetStringLength());
        ASSIGN_OR_RETURN(std::vector<std::string> ids, r.Strings(it->value, JoinPath("$.auth.order", provider)));
        c.auth_order_.emplace_back(provider, std::move(ids));
      }
    }
  }
  return absl::OkStatus();
}

// models.providers.<p>: baseUrl, api and the catalog rows of models[] (thinking keys checked).
absl::Status Config::Parser::ModelProviders(const Value& root) const {
  if (const Value* models = Reader::Get(root, "models")) {
    RETURN_IF_ERROR(r.Object(*models, "$.models"));
    if (const Value* providers = Reader::Get(*models, "providers")) {
      RETURN_IF_ERROR(r.Object(*providers, "$.models.providers"));
      for (auto it = providers->MemberBegin(); it != providers->MemberEnd(); ++it) {
        ProviderConfig p;
        std::string raw_id(it->name.GetString(), it->name.GetStringLength());
        p.id = text::ToLower(raw_id);
        std::string path = JoinPath("$.models.providers", raw_id);
        RETURN_IF_ERROR(r.Object(it->value, path));
        if (const Value* v = Reader::Get(it->value, "baseUrl")) {
          ASSIGN_OR_RETURN(p.base_url, r.String(*v, path + ".baseUrl"));
        }
        if (const Value* v = Reader::Get(it->value, "api")) {
          ASSIGN_OR_RETURN(p.api, r.String(*v, path + ".api"));
        }
        if (const Value* list = Reader::Get(it->value, "models")) {
          if (!list->IsArray()) return r.file().Error(path + ".models", "expected an array of {id, name}");
          for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
            std::string row_path = absl::StrCat(path, ".models[", i, "]");
            const Value& row = (*list)[i];
            RETURN_IF_ERROR(r.Object(row, row_path));
            CatalogRow cr;
            cr.ref.provider = p.id;
            const Value* id = Reader::Get(row, "id");
            if (id == nullptr) return r.file().Error(row_path, "missing \"id\"");
            ASSIGN_OR_RETURN(cr.ref.model, r.String(*id, row_path + ".id"));
            if (const Value* n = Reader::Get(row, "name")) {
              ASSIGN_OR_RETURN(cr.name, r.String(*n, row_path + ".name"));
            }
            if (const Value* t = Reader::Get(row, "thinkingDefault")) {
              ASSIGN_OR_RETURN(cr.thinking_default, r.String(*t, row_path + ".thinkingDefault"));
              if (ThinkingRank(cr.thinking_default) < 0)
                return r.file().Error(row_path + ".thinkingDefault", UnknownLevel(cr.thinking_default));
            }
            if (const Value* t = Reader::Get(row, "thinkingLevels")) {
              ASSIGN_OR_RETURN(cr.thinking_levels, r.Strings(*t, row_path + ".thinkingLevels"));
              for (size_t k = 0; k < cr.thinking_levels.size(); ++k)
                if (ThinkingRank(cr.thinking_levels[k]) < 0)
                  return r.file().Error(absl::StrCat(row_path, ".thinkingLevels[", k, "]"), UnknownLevel(cr.thinking_levels[k]));
            }
            if (const Value* t = Reader::Get(row, "reasoning")) {
              ASSIGN_OR_RETURN(cr.reasoning, r.Bool(*t, row_path + ".reasoning"));
            }
            if (const Value* cost = Reader::Get(row, "cost")) {
              ASSIGN_OR_RETURN(cr.cost, ReadModelPrice(r, *cost, row_path + ".cost"));
            }
            if (const Value* st = Reader::Get(row, "status")) {
              ASSIGN_OR_RETURN(std::string status, r.String(*st, row_path + ".status"));
              cr.deprecated = status == "deprecated" || status == "disabled";
            }
            c.catalog_.push_back(std::move(cr));
          }
        }
        c.providers_.push_back(std::move(p));
      }
    }
  }
  return absl::OkStatus();
}

// modelpin.profileAccess: {"<profile id>": {"allowFrom": ["<sender>", ...]}}.
absl::StatusOr<std::map<std::string, Config::ProfileAccess, std::less<>>> ReadProfileAccess(const Reader& r,
                                                                                           const Value& v) {
  const std::string base = "$.modelpin.profileAccess";
  RETURN_IF_ERROR(r.Object(v, base));
  std::map<std::string, Config::ProfileAccess, std::less<>> out;
  for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
    std::string id(m->name.GetString(), m->name.GetStringLength());
    const std::string path = JoinPath(base, id);
    if (id.empty()) return r.file().Error(path, "expected an auth profile id, found an empty name");
    RETURN_IF_ERROR(r.Object(m->value, path));
    Config::ProfileAccess access;
    for (auto f = m->value.MemberBegin(); f != m->value.MemberEnd(); ++f) {
      std::string key(f->name.GetString(), f->name.GetStringLength());
      if (key != "allowFrom")
        return r.file().Error(JoinPath(path, key),
                              "unknown key (a profile's access rule has only \"allowFrom\")");
    }
    const Value* allow = Reader::Get(m->value, "allowFrom");
    if (allow == nullptr) return r.file().Error(path, "expected \"allowFrom\": the senders who may pin this profile");
    ASSIGN_OR_RETURN(access.allow_from, r.Strings(*allow, path + ".allowFrom"));
    out.emplace(std::move(id), std::move(access));
  }
  return out;
}

// modelpin.webhooks: [{"url": "https://...", "events": ["pin_changed", ...], "secret": "..."}].
static absl::Status ReadWebhooks(const Reader& r, const Value& v, std::vector<Config::WebhookConfig>* out) {
  const std::string base = "$.modelpin.webhooks";
  if (!v.IsArray()) return r.file().Error(base, "expected an array of {url, events, secret} objects");
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    const std::string at = absl::StrCat(base, "[", i, "]");
    RETURN_IF_ERROR(r.Object(v[i], at));
    Config::WebhookConfig hook;
    for (auto m = v[i].MemberBegin(); m != v[i].MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      if (key != "url" && key != "events" && key != "secret")
        return r.file().Error(absl::StrCat(at, ".", text::EchoSafe(key, 40)),
                              "unknown key (expected url, events or secret)");
    }
    if (const Value* events = Reader::Get(v[i], "events")) {
      ASSIGN_OR_RETURN(hook.events, r.Strings(*events, at + ".events"));
      for (size_t j = 0; j < hook.events.size(); ++j) {
        EventKind kind;
        if (hook.events[j] != "*" && !ParseEventKind(hook.events[j], kind))
          return r.file().Error(absl::StrCat(at, ".events[", j, "]"),
                                absl::StrCat("unknown event \"", text::EchoSafe(hook.events[j], 40),
                                             "\" (expected pin_changed, cooldown_started, cooldown_ended, "
                                             "profile_disabled, profile_recovered, fallback_used, "
                                             "store_failed_over, budget_warning, budget_exhausted or *)"));
      }
      if (std::find(hook.events.begin(), hook.events.end(), "*") != hook.events.end()) hook.events.clear();
    }
    // The members present are checked first, then the ones missing.
    const Value* secret = Reader::Get(v[i], "secret");
    if (secret != nullptr && (!secret->IsString() || secret->GetStringLength() == 0))
      return r.file().Error(at + ".secret", "expected a non-empty string");
    const Value* url = Reader::Get(v[i], "url");
    if (url == nullptr) return r.file().Error(at, "missing \"url\"");
    ASSIGN_OR_RETURN(hook.url, r.String(*url, at + ".url"));
    if (!absl::StartsWith(hook.url, "http://") && !absl::StartsWith(hook.url, "https://"))
      return r.file().Error(at + ".url", "expected an http:// or https:// URL");
    if (secret == nullptr) return r.file().Error(at, "missing \"secret\" (receivers verify the signature with it)");
    hook.secret.assign(secret->GetString(), secret->GetStringLength());
    out->push_back(std::move(hook));
  }
  return absl::OkStatus();
}

// modelpin.*: strict, masking, rotation, the shared store, and routes (which need the agents' aliases).
absl::Status Config::Parser::Modelpin(const Value& root) const {
  if (const Value* mp = Reader::Get(root, "modelpin")) {
    RETURN_IF_ERROR(r.Object(*mp, "$.modelpin"));
    if (const Value* s = Reader::Get(*mp, "strict")) {
      ASSIGN_OR_RETURN(c.strict_, r.Bool(*s, "$.modelpin.strict"));
    }
    if (const Value* m = Reader::Get(*mp, "masking")) {
      ASSIGN_OR_RETURN(std::string mode, r.String(*m, "$.modelpin.masking"));
      if (mode == "compat") c.masking_ = MaskingMode::kCompat;
      else if (mode == "prefix") c.masking_ = MaskingMode::kPrefix;
      else if (mode == "fingerprint") c.masking_ = MaskingMode::kFingerprint;
      else
        return r.file().Error("$.modelpin.masking", absl::StrCat("unknown masking mode \"", text::EchoSafe(mode, 40),
                                                             "\" (expected compat, prefix or fingerprint)"));
    }
    if (const Value* rot = Reader::Get(*mp, "rotation")) RETURN_IF_ERROR(ReadRotation(r, *rot, &c.rotation_));
    if (const Value* probe = Reader::Get(*mp, "probe")) RETURN_IF_ERROR(ReadProbe(r, *probe, &c.probe_));
    if (const Value* s = Reader::Get(*mp, "store")) {
      ASSIGN_OR_RETURN(c.store_.url, r.String(*s, "$.modelpin.store"));
      // Left out, the sessions are in SQLite under the state dir; an empty URL is a mistake (a
      // variable that was not filled in), not a way to say so.
      if (c.store_.url.empty())
        return r.file().Error("$.modelpin.store",
                              "empty store URL (leave \"store\" out for SQLite under the state dir, or give a "
                              "redis:// or unix:// URL)");
    }
    if (const Value* s = Reader::Get(*mp, "storePrefix")) {
      ASSIGN_OR_RETURN(c.store_.prefix, r.String(*s, "$.modelpin.storePrefix"));
    }
    if (const Value* s = Reader::Get(*mp, "storeTimeoutMs")) {
      if (!s->IsInt() || s->GetInt() < 1 || s->GetInt() > 60'000)
        return r.file().Error("$.modelpin.storeTimeoutMs", "expected a number of milliseconds from 1 to 60000");
      c.store_.timeout_ms = s->GetInt();
    }
    if (const Value* s = Reader::Get(*mp, "storeWaitReplicas")) {
      if (!s->IsInt() || s->GetInt() < 0 || s->GetInt() > 100)
        return r.file().Error("$.modelpin.storeWaitReplicas", "expected a number of replicas from 0 to 100");
      c.store_.wait_replicas = s->GetInt();
    }
    if (const Value* routes = Reader::Get(*mp, "routes")) {
      ASSIGN_OR_RETURN(c.routes_, ReadRoutes(r, *routes, c.default_models_));
    }
    if (const Value* access = Reader::Get(*mp, "profileAccess")) {
      ASSIGN_OR_RETURN(c.profile_access_, ReadProfileAccess(r, *access));
    }
    if (const Value* hooks = Reader::Get(*mp, "webhooks")) RETURN_IF_ERROR(ReadWebhooks(r, *hooks, &c.webhooks_));
    if (const Value* budgets = Reader::Get(*mp, "budgets")) {
      ASSIGN_OR_RETURN(c.budgets_, ReadBudgets(r, *budgets));
    }
  }
  return absl::OkStatus();
}

std::optional<ModelPrice> Config::PriceOf(std::string_view provider_model) const {
  size_t slash = provider_model.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string provider = text::ToLower(provider_model.substr(0, slash));
  std::string_view model = provider_model.substr(slash + 1);
  for (const CatalogRow& row : catalog_)
    if (row.cost && row.ref.provider == provider && row.ref.model == model) return row.cost;
  return std::nullopt;
}

const Config::ProfileAccess* Config::ProfileAccessFor(std::string_view profile_id) const {
  auto it = profile_access_.find(profile_id);
  return it == profile_access_.end() ? nullptr : &it->second;
}

bool Config::MayPinProfile(std::string_view profile_id, std::string_view sender, bool sender_is_owner) const {
  const ProfileAccess* access = ProfileAccessFor(profile_id);
  if (access == nullptr || sender_is_owner) return true;
  return std::any_of(access->allow_from.begin(), access->allow_from.end(),
                     [&](const std::string& s) { return s == "*" || (!sender.empty() && s == sender); });
}

// commands.ownerAllowFrom and commands.botName.
absl::Status Config::Parser::Commands(const Value& root) const {
  if (const Value* cmds = Reader::Get(root, "commands")) {
    RETURN_IF_ERROR(r.Object(*cmds, "$.commands"));
    if (const Value* owners = Reader::Get(*cmds, "ownerAllowFrom")) {
      ASSIGN_OR_RETURN(c.owner_allow_from_, r.Strings(*owners, "$.commands.ownerAllowFrom"));
    }
    if (const Value* bot = Reader::Get(*cmds, "botName")) {
      ASSIGN_OR_RETURN(std::string name, r.String(*bot, "$.commands.botName"));
      if (!name.empty() && name.front() == '@') name.erase(0, 1);
      bool valid = !name.empty() && name.size() <= 64 &&
                   std::all_of(name.begin(), name.end(), [](char ch) { return absl::ascii_isalnum(ch) || ch == '_'; });
      if (!valid)
        return r.file().Error("$.commands.botName", absl::StrCat("invalid bot name \"", text::EchoSafe(name, 40),
                                                             "\" (expected letters, digits and '_', as a Telegram username)"));
      c.bot_name_ = std::move(name);
    }
  }
  return absl::OkStatus();
}

// plugins.load, relative paths made relative to the config file `name`.
absl::Status Config::Parser::Plugins(const Value& root, const std::string& name) const {
  if (const Value* plugins = Reader::Get(root, "plugins")) {
    RETURN_IF_ERROR(r.Object(*plugins, "$.plugins"));
    if (const Value* load = Reader::Get(*plugins, "load")) {
      ASSIGN_OR_RETURN(c.plugin_paths_, r.Strings(*load, "$.plugins.load"));
      // Relative paths are relative to the config file's folder.
      const size_t slash = name.rfind('/');
      for (auto& p : c.plugin_paths_)
        if (!p.empty() && p.front() != '/' && slash != std::string::npos) p = name.substr(0, slash + 1) + p;
    }
    // plugins.entries.<name>.config: a run-time plugin's own section (OpenClaw's plugins.entries
    // shape), handed to it whole as JSON text when it starts (docs/plugins.md). Other members of
    // an entry are OpenClaw's and ignored.
    if (const Value* entries = Reader::Get(*plugins, "entries")) {
      RETURN_IF_ERROR(r.Object(*entries, "$.plugins.entries"));
      for (auto it = entries->MemberBegin(); it != entries->MemberEnd(); ++it) {
        const std::string plugin(it->name.GetString(), it->name.GetStringLength());
        const std::string path = JoinPath("$.plugins.entries", plugin);
        RETURN_IF_ERROR(r.Object(it->value, path));
        if (const Value* section = Reader::Get(it->value, "config")) {
          RETURN_IF_ERROR(r.Object(*section, path + ".config"));
          c.plugin_configs_[plugin] = ToCompactJson(*section);
        }
      }
    }
  }
  return absl::OkStatus();
}

void Config::InjectProviderDefaults() {
  // OpenClaw's Anthropic plugin adds two configured models when the effective Anthropic auth
  // mode is an API key (strict mode leaves them out: docs/strict-mode.md): the mode of the first profile of auth.order.anthropic,
  // else "api_key" when every configured anthropic profile is an API key.
  if (strict_) return;
  std::string mode;
  if (const auto* order = AuthOrder("anthropic"); order && !order->empty()) {
    if (const AuthProfileConfig* p = AuthProfile(order->front())) mode = p->mode;
  } else {
    bool any = false, all_keys = true;
    for (const auto& p : auth_profiles_) {
      if (p.provider != "anthropic") continue;
      any = true;
      all_keys = all_keys && p.mode == "api_key";
    }
    if (any && all_keys) mode = "api_key";
  }
  if (mode != "api_key") return;
  for (const char* key : {"anthropic/claude-sonnet-5", "anthropic/claude-sonnet-4-6"}) {
    bool present = false;
    for (const auto& m : default_models_) present = present || m.key == key;
    if (!present) default_models_.push_back({key, ParseConfigRef(key), ""});
  }
}

AgentView Config::MakeView(const std::string& id, const AgentEntry* entry) const {
  AgentView v;
  v.id = id;
  v.default_ref = (entry && entry->primary) ? *entry->primary : primary_;
  v.fallbacks = (entry && entry->fallbacks) ? *entry->fallbacks : fallbacks_;
  v.image_models = image_models_;
  v.models = default_models_;
  v.default_models_count = default_models_.size();
  if (entry) v.models.insert(v.models.end(), entry->models.begin(), entry->models.end());
  if (entry && entry->allow) {
    if (!entry->allow->empty()) v.policy = ModelPolicy{*entry->allow, "agents.entries.*.modelPolicy.allow"};
  } else if (default_allow_ && !default_allow_->empty()) {
    v.policy = ModelPolicy{*default_allow_, "agents.defaults.modelPolicy.allow"};
  }
  for (const auto& m : default_models_) {
    if (!m.alias.empty()) v.shorthand_aliases_lower.push_back(text::ToLower(m.alias));
  }
  return v;
}

void Config::BuildViews() {
  views_.clear();
  for (const auto& [id, entry] : entries_) views_[id] = MakeView(id, &entry);
  fallback_view_ = MakeView("main", nullptr);
  // A rule's model replaces the default of every agent its sessions belong to; the rest of the
  // view (fallbacks, aliases, policy) is the agent's.
  rule_views_.assign(routes_.size(), {});
  rule_fallback_views_.assign(routes_.size(), {});
  for (const RouteRule& rule : routes_) {
    if (!rule.model) continue;
    for (const auto& [id, view] : views_) {
      AgentView& v = rule_views_[rule.index][id] = view;
      v.default_ref = *rule.model;
    }
    rule_fallback_views_[rule.index] = fallback_view_;
    rule_fallback_views_[rule.index].default_ref = *rule.model;
  }
}

const AgentView& Config::RuleAgent(const std::string& id, const RouteRule& rule) const {
  if (!rule.model || rule.index >= rule_views_.size()) return Agent(id);
  const auto& views = rule_views_[rule.index];
  auto it = views.find(id);
  return it != views.end() ? it->second : rule_fallback_views_[rule.index];
}

const RouteRule* Config::FindRoute(std::string_view name) const {
  for (const RouteRule& rule : routes_)
    if (!name.empty() && rule.name == name) return &rule;
  return nullptr;
}

const AgentView& Config::Agent(const std::string& id) const {
  auto it = views_.find(id);
  if (it != views_.end()) return it->second;
  // Agents without an entry share the defaults; only the id differs, and callers that print it
  // take it from the request, not from here.
  return fallback_view_;
}

bool Config::HasAgentEntry(const std::string& id) const { return entries_.count(id) > 0; }

std::vector<std::string> Config::AgentIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, e] : entries_) ids.push_back(id);
  return ids;
}

std::string Config::DefaultAgentId() const {
  if (!system_agent_.empty()) return system_agent_;
  if (entries_.size() == 1) return entries_.begin()->first;
  return "main";
}

const ProviderConfig* Config::Provider(const std::string& id) const {
  for (const auto& p : providers_)
    if (p.id == id) return &p;
  return nullptr;
}

const AuthProfileConfig* Config::AuthProfile(const std::string& id) const {
  for (const auto& p : auth_profiles_)
    if (p.id == id) return &p;
  return nullptr;
}

const std::vector<std::string>* Config::AuthOrder(const std::string& provider) const {
  for (const auto& [p, ids] : auth_order_)
    if (p == provider) return &ids;
  return nullptr;
}

}  // namespace modelpin
