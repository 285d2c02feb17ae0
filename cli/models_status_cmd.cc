// `modelpin models status [--json] [--check] [--probe ...]`: the agent's default model, aliases and, per
// provider, the effective auth order with masked secrets, and a --check exit code (docs/cli.md).
#include <algorithm>
#include <charconv>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"
#include <modelpin/calls/probe.h>
#include <modelpin/cli/cli.h>
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/plugins/model/views.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kStatusHelp = R"(usage: modelpin models status [--json] [--check] [--probe [--probe-provider P]... [--probe-profile ID]...
                              [--probe-timeout MS] [--probe-concurrency N] [--probe-max-tokens N]]
                              [--agent ID] [--config FILE] [--state DIR]

Shows the agent's default model, fallbacks, image models, aliases and allowed models, then per
provider (those of the models in use and aliases, and those with saved profiles) the effective
auth order with masked secrets, and the expiry of token and OAuth profiles. Time comes from
$MODELPIN_NOW_MS when set (tests), else the system clock.

  --json   the same as one JSON object
  --check  exit status: 1 when a provider of the default model or a fallback has no usable
           credential, its selected (first) profile is expired, or every profile of it is
           cooling down or disabled; else 2 when that selected
           profile expires within 24 h; else 0
  --probe  first send each stored profile one real request (the cheapest: max_tokens 1) and
           report how it went; a profile disabled for auth, billing or budget that passes is
           enabled again, one that fails stays out (docs/probing.md). A probe may cost tokens.
  --probe-provider P     only profiles of these providers (repeatable or comma-separated)
  --probe-profile ID     only these profiles (repeatable or comma-separated)
  --probe-timeout MS     per request (default: config modelpin.probe.timeoutMs, 10000)
  --probe-concurrency N  requests at once (default 1)
  --probe-max-tokens N   what a probe may ask for (default: modelpin.probe.maxTokens, 1)
)";

// Repeatable, comma-separated values of `flag`.
std::vector<std::string> ListOf(const Args& args, const std::string& flag) {
  std::vector<std::string> out;
  for (const std::string& v : args.Values(flag))
    for (absl::string_view part : absl::StrSplit(v, ',', absl::SkipWhitespace()))
      out.emplace_back(absl::StripAsciiWhitespace(part));
  return out;
}

// A whole number from `lo` to `hi` in `flag`, else nullopt (a usage error).
std::optional<int64_t> NumberOf(const Args& args, const std::string& flag, int64_t lo, int64_t hi, int64_t fallback) {
  if (!args.Has(flag)) return fallback;
  int64_t v = 0;
  const std::string s = args.Value(flag);
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

std::string ProbesText(const std::vector<ProbeResult>& probes) {
  std::string out = "\nProbes\n";
  for (const auto& p : probes) {
    absl::StrAppend(&out, "- ", p.profile, " ", p.status);
    if (!p.model.empty()) absl::StrAppend(&out, " (", p.model, ", ", p.latency_ms, " ms)");
    if (p.recovered) absl::StrAppend(&out, " recovered");
    else if (p.was_disabled) absl::StrAppend(&out, " still disabled");
    if (p.status != "ok" && !p.error.empty()) absl::StrAppend(&out, ": ", p.error);
    out += "\n";
  }
  return out;
}



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
  bool probed = false;  // --probe
  std::vector<ProbeResult> probes;
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
    Key(w, "selected"), StrOrNull(w, p.selected);
    Key(w, "problem"), StrOrNull(w, p.problem);
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
  if (r.probed) {
    Key(w, "probes");
    w.StartArray();
    for (const auto& p : r.probes) {
      w.StartObject();
      Key(w, "profile"), Str(w, p.profile);
      Key(w, "provider"), Str(w, p.provider);
      Key(w, "model"), Str(w, p.model);
      Key(w, "status"), Str(w, p.status);
      Key(w, "httpStatus"), w.Int64(p.http_status);
      Key(w, "latencyMs"), w.Int64(p.latency_ms);
      Key(w, "error"), StrOrNull(w, p.status == "ok" ? std::string_view() : p.error);
      Key(w, "wasDisabled"), w.Bool(p.was_disabled);
      Key(w, "recovered"), w.Bool(p.recovered);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return buf.GetString();
}


}  // namespace

int RunModelsStatus(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "models status", kStatusHelp,
                         {"--probe-provider", "--probe-profile", "--probe-timeout", "--probe-concurrency",
                          "--probe-max-tokens"},
                         {"--json", "--check", "--probe"});
      rc >= 0)
    return rc;
  if (!args.positional().empty())
    return Usage("models status", "unexpected argument \"" + args.positional()[0] + "\"");
  const bool probe = args.Has("--probe");
  for (const char* flag : {"--probe-provider", "--probe-profile", "--probe-timeout", "--probe-concurrency",
                           "--probe-max-tokens"})
    if (!probe && args.Has(flag)) return Usage("models status", std::string(flag) + " needs --probe");
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  auto agent = KnownAgent(**engine, common.agent);
  if (!agent.ok()) return Fail(agent.status());
  std::vector<ProbeResult> probes;
  if (probe) {
    const ProbePolicy& policy = (*engine)->config().probe();
    ProbeOptions o;
    o.providers = ListOf(args, "--probe-provider");
    for (auto& p : o.providers) p = AuthProvider(p);
    o.profiles = ListOf(args, "--probe-profile");
    auto timeout = NumberOf(args, "--probe-timeout", 100, 600'000, policy.timeout_ms);
    auto concurrency = NumberOf(args, "--probe-concurrency", 1, 64, 1);
    auto tokens = NumberOf(args, "--probe-max-tokens", 1, 4096, policy.max_tokens);
    if (!timeout) return Usage("models status", "--probe-timeout: expected milliseconds from 100 to 600000");
    if (!concurrency) return Usage("models status", "--probe-concurrency: expected a number from 1 to 64");
    if (!tokens) return Usage("models status", "--probe-max-tokens: expected a number from 1 to 4096");
    o.timeout_ms = static_cast<long>(*timeout);
    o.concurrency = static_cast<int>(*concurrency);
    o.max_tokens = static_cast<int>(*tokens);
    probes = RunProbes(**engine, *agent, o);
    if (probes.empty() && (!o.providers.empty() || !o.profiles.empty()))
      return Fail(absl::NotFoundError("no stored profile matches --probe-provider/--probe-profile"));
    (*engine)->Recheck(*agent);  // the status below shows what the probes changed
  }
  StatusReport report;
  absl::Status st = (*engine)->Inspect(*agent, "", [&](TurnContext& ctx) { report = BuildStatus(ctx, common); });
  if (!st.ok()) return Fail(st);
  report.probed = probe;
  report.probes = std::move(probes);
  std::cout << (args.Has("--json") ? StatusJson(report) + "\n"
                                   : StatusText(report) + (probe ? ProbesText(report.probes) : std::string()))
            << std::flush;
  return args.Has("--check") ? report.exit_code : kExitOk;
}

}  // namespace modelpin::cli
