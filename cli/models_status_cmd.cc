// `modelpin models status [--json] [--check]`: the agent's default model, aliases and, per
// provider, the effective auth order with masked secrets, and a --check exit code (docs/cli.md).
#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/cli.h"
#include "engine/turn/agent_store.h"
#include "engine/auth/auth_order.h"
#include "plugins/model/views.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kStatusHelp = R"(usage: modelpin models status [--json] [--check] [--agent ID] [--config FILE] [--state DIR]

Shows the agent's default model, fallbacks, image models, aliases and allowed models, then per
provider (those of the models in use and aliases, and those with saved profiles) the effective
auth order with masked secrets, and the expiry of token and OAuth profiles. Time comes from
$MODELPIN_NOW_MS when set (tests), else the system clock.

  --json   the same as one JSON object
  --check  exit status: 1 when a provider of the default model or a fallback has no usable
           credential, its selected (first) profile is expired, or every profile of it is
           cooling down or disabled; else 2 when that selected
           profile expires within 24 h; else 0
)";



constexpr int64_t kWarnMs = 86'400'000;

struct ProfileStatus {
  std::string id;
  std::string type;
  std::string credential;  // masked
  std::optional<int64_t> expires;
  std::string state;  // static | ok | expiring | expired | missing
  std::string text;   // "ok expires in 2d"
};

ProfileStatus Describe(const Credential& c, int64_t now, MaskingMode mode) {
  ProfileStatus p{c.id, c.type, "", c.expires, "", ""};
  p.credential = MaskedCredential(c, mode);
  if (c.secret.empty() && !c.has_secret_ref) {
    p.state = "missing";
    p.text = "missing";
  } else if (!c.expires || c.type == "api_key") {
    p.state = "static";
    p.text = "static";
  } else if (*c.expires <= now) {
    p.state = "expired";
    p.text = "expired";
  } else if (*c.expires - now <= kWarnMs) {
    p.state = "expiring";
    p.text = "expiring expires in " + FormatRemaining(*c.expires - now);
  } else {
    p.state = "ok";
    p.text = "ok expires in " + FormatRemaining(*c.expires - now);
  }
  return p;
}

struct ProviderStatus {
  std::string provider;
  bool in_use = false;  // a provider of the default model or a fallback
  AuthOrder order;
  std::string label;     // AuthLabel without the store suffix
  std::string selected;  // first of the order, or "env:VAR", or ""
  std::string problem;   // why --check fails for it ("" = none)
  std::string fix;       // a command that would help
  bool expiring = false;
  std::vector<ProfileStatus> profiles;  // stored profiles of this provider, store order
};

struct StatusReport {
  std::string config_path, agent, agent_dir, store_path;
  ModelRef default_ref;
  std::vector<ModelRef> fallbacks, image_models;
  std::vector<std::pair<std::string, std::string>> aliases;  // alias -> target
  std::vector<std::string> allowed;
  std::vector<ProviderStatus> providers;
  int exit_code = 0;
};

StatusReport BuildStatus(const TurnContext& ctx, const Common& common) {
  StatusReport r;
  r.config_path = common.ConfigPath();
  r.agent = ctx.agent_id;
  r.agent_dir = AgentDir(common, ctx.agent_id);
  r.store_path = ctx.auth_store_label;
  r.default_ref = ctx.agent.default_ref;
  r.fallbacks = ctx.agent.fallbacks;
  r.image_models = ctx.agent.image_models;
  for (const auto& m : ctx.agent.models)
    if (!m.alias.empty()) r.aliases.emplace_back(m.alias, m.ref.Label());
  if (ctx.agent.policy) r.allowed = ctx.agent.policy->allow;

  std::vector<std::string> names;
  std::vector<std::string> in_use;
  auto add = [&](const std::string& p) {
    if (!p.empty() && std::find(names.begin(), names.end(), p) == names.end()) names.push_back(p);
  };
  if (!r.default_ref.empty()) in_use.push_back(r.default_ref.provider);
  for (const auto& f : r.fallbacks) in_use.push_back(f.provider);
  for (const auto& p : in_use) add(p);
  for (const auto& m : ctx.agent.models)
    if (!m.alias.empty()) add(m.ref.provider);
  for (const auto& c : ctx.auth.profiles()) add(AuthProvider(c.provider));

  std::string suffix = " (auth profile store: " + ctx.auth_store_label + ")";
  for (const auto& name : names) {
    ProviderStatus p;
    p.provider = name;
    p.in_use = std::find(in_use.begin(), in_use.end(), name) != in_use.end();
    p.order = ctx.OrderFor(name);
    p.label = model_plugin::AuthLabel(ctx, name);
    if (p.label.size() > suffix.size() && p.label.compare(p.label.size() - suffix.size(), suffix.size(), suffix) == 0)
      p.label.resize(p.label.size() - suffix.size());
    for (const auto& c : ctx.auth.profiles())
      if (AuthProvider(c.provider) == AuthProvider(name)) p.profiles.push_back(Describe(c, ctx.now_ms, ctx.config.masking()));
    if (!p.order.ids.empty()) {
      p.selected = p.order.ids.front();
      const Credential* c = ctx.auth.Find(p.selected);
      ProfileStatus s = Describe(*c, ctx.now_ms, ctx.config.masking());
      if (s.state == "expired") p.problem = "selected profile " + p.selected + " is expired";
      else if (s.state == "missing") p.problem = "selected profile " + p.selected + " has no secret";
      if (!p.problem.empty()) p.fix = "modelpin models auth paste-token --provider " + name + " --profile-id " + p.selected;
      else if (s.state == "expiring") p.expiring = true;
      if (p.problem.empty() && p.order.AllCooling()) {
        std::vector<std::string> why;
        for (const auto& id : p.order.ids)
          why.push_back(id + " " + DescribeHealth(ctx.auth.Usage(id), "", ctx.now_ms).Text());
        p.problem = "every profile is cooling down or disabled (" + absl::StrJoin(why, "; ") + ")";
        p.fix = "modelpin models auth cooldowns clear --provider " + name;
      }
    } else if (const EnvCredential* env = ctx.env ? ctx.env->For(name) : nullptr) {
      p.selected = env->ProfileId();
    } else {
      p.problem = "no usable credential";
      std::vector<std::string> why;
      for (const auto& [id, reason] : p.order.excluded) why.push_back(id + ": " + reason);
      if (!why.empty()) absl::StrAppend(&p.problem, " (left out: ", absl::StrJoin(why, "; "), ")");
      p.fix = "modelpin models auth paste-api-key --provider " + name;
    }
    if (p.in_use) {
      if (!p.problem.empty()) r.exit_code = 1;
      else if (p.expiring && r.exit_code == 0) r.exit_code = 2;
    }
    r.providers.push_back(std::move(p));
  }
  return r;
}

std::string Refs(const std::vector<ModelRef>& refs) {
  if (refs.empty()) return "-";
  std::vector<std::string> labels;
  for (const auto& r : refs) labels.push_back(r.Label());
  return absl::StrJoin(labels, ", ");
}

std::string StatusText(const StatusReport& r) {
  std::string out;
  absl::StrAppend(&out, "Config        : ", Engine::DisplayPath(r.config_path), "\n");
  absl::StrAppend(&out, "Agent         : ", r.agent, "\n");
  absl::StrAppend(&out, "Agent dir     : ", Engine::DisplayPath(r.agent_dir), "\n");
  absl::StrAppend(&out, "Default       : ", r.default_ref.empty() ? "-" : r.default_ref.Label(), "\n");
  absl::StrAppend(&out, "Fallbacks (", r.fallbacks.size(), ") : ", Refs(r.fallbacks), "\n");
  absl::StrAppend(&out, "Image models (", r.image_models.size(), "): ", Refs(r.image_models), "\n");
  std::vector<std::string> aliases;
  for (const auto& [a, t] : r.aliases) aliases.push_back(a + " -> " + t);
  absl::StrAppend(&out, "Aliases (", aliases.size(), ")   : ", aliases.empty() ? "-" : absl::StrJoin(aliases, ", "),
                  "\n");
  absl::StrAppend(&out, "Allowed models (", r.allowed.size(), "): ",
                  r.allowed.empty() ? "all" : absl::StrJoin(r.allowed, ", "), "\n");
  absl::StrAppend(&out, "\nAuth overview\nAuth store    : ", r.store_path, "\n");
  for (const auto& p : r.providers) {
    int oauth = 0, token = 0, key = 0;
    for (const auto& s : p.profiles) {
      if (s.type == "oauth") ++oauth;
      else if (s.type == "token") ++token;
      else if (s.type == "api_key") ++key;
    }
    absl::StrAppend(&out, "- ", p.provider, p.in_use ? " (in use)" : "", " | profiles=", p.profiles.size(), " (",
                    oauth, " oauth, ", token, " token, ", key, " api-key) | order: ", p.label, "\n");
  }
  std::vector<std::string> missing;
  for (const auto& p : r.providers)
    if (p.in_use && !p.problem.empty())
      missing.push_back(absl::StrCat("- ", p.provider, ": ", p.problem, ". Run `", p.fix,
                                     "` or check `modelpin models auth order get --provider ", p.provider, "`."));
  if (!missing.empty()) absl::StrAppend(&out, "\nMissing auth\n", absl::StrJoin(missing, "\n"), "\n");
  std::string tokens;
  for (const auto& p : r.providers) {
    std::string lines;
    for (const auto& s : p.profiles)
      if (s.type == "token" || s.type == "oauth") absl::StrAppend(&lines, "  - ", s.id, " ", s.text, "\n");
    if (!lines.empty()) absl::StrAppend(&tokens, "- ", p.provider, "\n", lines);
  }
  if (!tokens.empty()) absl::StrAppend(&out, "\nOAuth/token status\n", tokens);
  return out;
}

std::string StatusJson(const StatusReport& r) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  auto refs = [&](const std::vector<ModelRef>& list) {
    w.StartArray();
    for (const auto& x : list) Str(w, x.Label());
    w.EndArray();
  };
  w.StartObject();
  Key(w, "configPath"), Str(w, r.config_path);
  Key(w, "agentId"), Str(w, r.agent);
  Key(w, "agentDir"), Str(w, r.agent_dir);
  Key(w, "authStorePath"), Str(w, r.store_path);
  Key(w, "defaultModel");
  if (r.default_ref.empty()) w.Null();
  else Str(w, r.default_ref.Label());
  Key(w, "fallbacks"), refs(r.fallbacks);
  Key(w, "imageModels"), refs(r.image_models);
  Key(w, "aliases");
  w.StartObject();
  for (const auto& [a, t] : r.aliases) Key(w, a.c_str()), Str(w, t);
  w.EndObject();
  Key(w, "allowed"), StrList(w, r.allowed);
  Key(w, "providers");
  w.StartArray();
  for (const auto& p : r.providers) {
    w.StartObject();
    Key(w, "provider"), Str(w, p.provider);
    Key(w, "inUse"), w.Bool(p.in_use);
    Key(w, "order"), StrList(w, p.order.ids);
    Key(w, "auth"), Str(w, p.label);
    Key(w, "selected");
    if (p.selected.empty()) w.Null();
    else Str(w, p.selected);
    Key(w, "problem");
    if (p.problem.empty()) w.Null();
    else Str(w, p.problem);
    Key(w, "profiles");
    w.StartArray();
    for (const auto& s : p.profiles) {
      w.StartObject();
      Key(w, "id"), Str(w, s.id);
      Key(w, "type"), Str(w, s.type);
      Key(w, "credential"), Str(w, s.credential);
      Key(w, "expires");
      if (s.expires) w.Int64(*s.expires);
      else w.Null();
      Key(w, "status"), Str(w, s.state);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  Key(w, "checkExitCode"), w.Int(r.exit_code);
  w.EndObject();
  return buf.GetString();
}


}  // namespace

int RunModelsStatus(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "models status", kStatusHelp, {}, {"--json", "--check"}); rc >= 0) return rc;
  if (!args.positional().empty())
    return Usage("models status", "unexpected argument \"" + args.positional()[0] + "\"");
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  auto agent = KnownAgent(**engine, common.agent);
  if (!agent.ok()) return Fail(agent.status());
  StatusReport report;
  absl::Status st = (*engine)->Inspect(*agent, "", [&](TurnContext& ctx) { report = BuildStatus(ctx, common); });
  if (!st.ok()) return Fail(st);
  std::cout << (args.Has("--json") ? StatusJson(report) + "\n" : StatusText(report)) << std::flush;
  return args.Has("--check") ? report.exit_code : kExitOk;
}

}  // namespace modelpin::cli
