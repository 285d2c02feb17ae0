// `modelpin models ...`: the agent's auth profile order (get/set/clear), a status overview with
// a --check exit code, and storing secrets read from stdin (spec 5.5-5.7).
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "base/text.h"
#include "cli/cli.h"
#include "engine/auth/auth_order.h"
#include "engine/auth/auth_store.h"
#include "plugins/model/views.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {

int MissingProvider() { return Fail(absl::InvalidArgumentError("Missing required option \"--provider <name>\".")); }

// The agent the command is about: --agent (case-insensitive) when it is configured, the default
// agent or "main"; without --agent the config's default agent.
absl::StatusOr<std::string> AgentFor(const Engine& e, const Common& c) {
  std::string id = e.ResolveAgent(c.agent);
  if (!c.agent.empty() && !e.config().HasAgentEntry(id) && id != e.config().DefaultAgentId() && id != "main")
    return absl::NotFoundError(absl::StrCat("Unknown agent id \"", c.agent, "\"."));
  return id;
}

std::string AgentDir(const Common& c, const std::string& agent) {
  return absl::StrCat(c.StateDir(), "/agents/", agent, "/agent");
}

// What is used when the agent stores no order for `provider`.
std::string FallbackText(const Config& config, const std::string& provider) {
  const std::vector<std::string>* order = config.AuthOrder(AuthProvider(provider));
  if (order == nullptr) order = config.AuthOrder(provider);
  if (order == nullptr) return "selecting automatically";
  if (order->empty()) return "config selects no profiles";
  return "using order from config: " + absl::StrJoin(*order, ", ");
}

// Runs `change` on the agent's own store; an agent without one starts from a copy of the store
// it reads now, so it keeps its credentials (and the rest of its auth state).
absl::Status UpdateOwnStore(const Engine& e, const std::string& agent,
                            const std::function<absl::Status(AuthStore&)>& change) {
  std::string own = e.OwnAuthStorePath(agent);
  std::string effective = e.EffectiveAuthStorePath(agent);
  return AuthStore::Update(own, [&](AuthStore& store) -> absl::Status {
    if (!store.exists() && effective != own) {
      auto shared = AuthStore::Load(effective);
      if (!shared.ok()) return shared.status();
      if (shared->exists()) {
        auto copy = AuthStore::Parse(own, shared->ToJson());
        if (!copy.ok()) return copy.status();
        store = *std::move(copy);
      }
    }
    return change(store);
  });
}

int SaveCredential(Engine& e, const std::string& agent, const Credential& c) {
  const std::string& id = c.id;
  const std::string& provider = c.provider;
  absl::Status st = UpdateOwnStore(e, agent, [&](AuthStore& s) -> absl::Status {
    // A new credential starts healthy: a profile disabled until its credential changes is usable again.
    const Credential* old = s.Find(id);
    if (old && old->secret != c.secret) s.SetUsage(id, UsageStats{});
    s.UpsertProfile(c);
    return absl::OkStatus();
  });
  if (!st.ok()) return Fail(st);
  std::cout << "Saved " << id << " (" << c.type << ") for " << provider << ": " << MaskSecret(c.secret, e.config().masking()) << "\n";

  // modelpin does not edit the config: say so when the new profile will not be selected.
  auto store = AuthStore::Load(e.OwnAuthStorePath(agent));
  if (store.ok()) {
    AuthOrder order = ResolveAuthOrder({&e.config(), &*store, provider, e.NowMs()});
    if (std::find(order.ids.begin(), order.ids.end(), id) == order.ids.end()) {
      std::vector<std::string> ids = {id};
      ids.insert(ids.end(), order.ids.begin(), order.ids.end());
      std::cerr << "note: " << id << " is not in the effective auth order of " << provider
                << " (config auth.profiles/auth.order or a stored order select others); to use it first run: "
                << "modelpin models auth order set --provider " << provider << " " << absl::StrJoin(ids, " ") << "\n";
    }
  }
  return kExitOk;
}

// Reads the secret: one line without echo from a terminal, else all of stdin.
static std::string ReadSecret(const std::string& what) {
  std::string text;
  if (::isatty(STDIN_FILENO)) {
    std::cerr << "Paste " << what << ": " << std::flush;
    termios old{};
    bool restore = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (restore) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    std::getline(std::cin, text);
    if (restore) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  } else {
    std::ostringstream buf;
    buf << std::cin.rdbuf();
    text = buf.str();
  }
  return text;
}

// Why `secret` cannot be stored, or "".
std::string BadSecret(std::string_view secret, const std::string& what) {
  if (secret.empty()) return absl::StrCat("no ", what, " read from stdin");
  for (size_t i = 0; i < secret.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(secret[i]);
    if (c < 0x20 || c == 0x7f) return absl::StrCat("the ", what, " contains control characters");
    if (text::SpaceAt(secret, i) > 0) return absl::StrCat("the ", what, " contains whitespace");
  }
  return "";
}

namespace {

constexpr const char* kModelsHelp = R"(usage: modelpin models SUBCOMMAND [options]

  status [--json] [--check]                  default model, aliases, auth order per provider
  auth order get --provider P [--json]       the agent's stored auth profile order
  auth order set --provider P ID...          store an order override (only these profiles)
  auth order clear --provider P              remove the order override
  auth paste-token --provider P [--profile-id ID] [--expires-in 12h]
  auth paste-api-key --provider P [--profile-id ID]
                                             store a secret read from stdin
  auth setup-token --provider anthropic      run `claude setup-token` and store its token
  auth list [--provider P] [--json]          saved profiles: type, masked secret, expiry, health
  auth remove ID                             delete a saved profile (logout)
  auth cooldowns [--provider P] [--json]     profiles cooling down or disabled, and until when
  auth cooldowns clear [ID | --provider P]   make them usable again

Options every subcommand takes: --agent ID, --config FILE, --state DIR, --strict.
Run `modelpin models SUBCOMMAND --help` for details.
)";

constexpr const char* kAuthHelp = R"(usage: modelpin models auth list [--provider P] [--json]
       modelpin models auth remove ID
       modelpin models auth cooldowns [--provider P] [--json]
       modelpin models auth cooldowns clear [ID | --provider P]
       modelpin models auth setup-token --provider anthropic [--profile-id ID]
       modelpin models auth order get|set|clear --provider P [IDS...]
       modelpin models auth paste-token --provider P [--profile-id ID] [--expires-in DURATION]
       modelpin models auth paste-api-key --provider P [--profile-id ID]

Run `modelpin models auth order --help`, `modelpin models auth paste-token --help` or
`modelpin models auth paste-api-key --help` for details.
)";

constexpr const char* kOrderHelp = R"(usage: modelpin models auth order get --provider P [--json] [--agent ID] [--config FILE] [--state DIR]
       modelpin models auth order set --provider P ID... [--agent ID] [--config FILE] [--state DIR]
       modelpin models auth order clear --provider P [--agent ID] [--config FILE] [--state DIR]

The agent's stored auth profile order for a provider, kept in its own store
<state>/agents/<agent>/agent/auth-profiles.json. A stored order wins over config auth.order and
is also a filter: profiles not listed are not used.

  get    prints the override, or "none" and what is used instead (config auth.order, or
         automatic selection). --json: {agentId, agentDir, provider, authStatePath, order}
  set    stores ID... (trimmed, duplicates dropped) as the order; each must be a saved profile
         of provider P. An agent without a store of its own gets a copy of the store it reads
         first, so it keeps its credentials.
  clear  removes the override

  --provider P  provider id (lower-cased); required
  --agent ID    agent (default: the config's default agent, else main)
)";

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

constexpr const char* kPasteTokenHelp = R"(usage: modelpin models auth paste-token --provider P [--profile-id ID] [--expires-in DURATION]
                                        [--agent ID] [--config FILE] [--state DIR]

Reads a token from stdin (without echo on a terminal) and saves it as a token profile in the
agent's own auth store (mode 0600). The token is trimmed; it may not be empty or contain
whitespace or control characters. Only a masked form is printed.

  --provider P         provider id (lower-cased); required
  --profile-id ID      profile id (default <provider>:manual); an existing profile is replaced
  --expires-in DURATION  lifetime, a number with a unit s, m, h, d or w: 30m, 12h, 365d
)";

constexpr const char* kPasteKeyHelp = R"(usage: modelpin models auth paste-api-key --provider P [--profile-id ID]
                                          [--agent ID] [--config FILE] [--state DIR]

Reads an API key from stdin (without echo on a terminal) and saves it as an api_key profile in
the agent's own auth store (mode 0600). The key is trimmed; it may not be empty or contain
whitespace or control characters. Only a masked form is printed.

  --provider P     provider id (lower-cased); required
  --profile-id ID  profile id (default <provider>:manual); an existing profile is replaced
)";

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(JsonWriter& w, const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); }
void Key(JsonWriter& w, const char* k) { w.Key(k); }
void StrList(JsonWriter& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const auto& s : list) Str(w, s);
  w.EndArray();
}

// Validates the ids of `order set` against `store`; "" when they are fine.
absl::Status CheckIds(const AuthStore& store, const std::vector<std::string>& ids, const std::string& provider,
                      const std::string& agent_dir) {
  for (const auto& id : ids) {
    const Credential* c = store.Find(id);
    if (c == nullptr)
      return absl::NotFoundError(absl::StrCat("Auth profile \"", id, "\" not found in ", agent_dir,
                                              ". Run modelpin models status to see saved profiles."));
    if (AuthProvider(c->provider) != AuthProvider(provider))
      return absl::InvalidArgumentError(
          absl::StrCat("Auth profile \"", id, "\" is for ", c->provider, ", not ", provider, "."));
  }
  return absl::OkStatus();
}

int RunOrder(const std::string& action, std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = "models auth order " + action;
  std::vector<std::string> bools;
  if (action == "get") bools.push_back("--json");
  if (std::string err = args.Parse({"--provider"}, bools); !err.empty()) return Usage(verb, err);
  if (args.help()) {
    std::cout << kOrderHelp;
    return kExitOk;
  }
  if (action != "set" && !args.positional().empty())
    return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (provider.empty()) return MissingProvider();
  std::vector<std::string> ids;
  if (action == "set") {
    for (const auto& raw : args.positional()) {
      std::string id(text::Trim(raw));
      if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    }
    if (ids.empty()) return Fail(absl::InvalidArgumentError("Missing required argument \"profileIds\"."));
  }
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  auto agent = AgentFor(e, common);
  if (!agent.ok()) return Fail(agent.status());
  // As OpenClaw: a change needs an explicit owner when several agents are configured.
  if (action != "get" && common.agent.empty() && e.config().AgentIds().size() > 1)
    return Fail(absl::FailedPreconditionError(
        "Multiple agents are configured, but the model command has no explicit owner. Pass --agent <id>."));
  std::string agent_dir = AgentDir(common, *agent);
  std::string effective = e.EffectiveAuthStorePath(*agent);

  if (action == "get") {
    auto store = AuthStore::Load(effective);
    if (!store.ok()) return Fail(store.status());
    const std::vector<std::string>* order = store->Order(provider);
    if (args.Has("--json")) {
      rapidjson::StringBuffer buf;
      JsonWriter w(buf);
      w.StartObject();
      Key(w, "agentId"), Str(w, *agent);
      Key(w, "agentDir"), Str(w, agent_dir);
      Key(w, "provider"), Str(w, provider);
      Key(w, "authStatePath"), Str(w, effective);
      Key(w, "order");
      if (order) StrList(w, *order);
      else w.Null();
      w.EndObject();
      std::cout << buf.GetString() << "\n";
      return kExitOk;
    }
    std::cout << "Agent: " << *agent << "\nProvider: " << provider
              << "\nAuth state store: " << Engine::DisplayPath(effective) << "\nAuth profile order override: "
              << (order ? absl::StrJoin(*order, ", ") : "none (" + FallbackText(e.config(), provider) + ")") << "\n";
    return kExitOk;
  }

  if (action == "set") {
    // Checked first against what the agent reads now, so a refused set creates nothing.
    auto store = AuthStore::Load(effective);
    if (!store.ok()) return Fail(store.status());
    std::string shown_dir = Engine::DisplayPath(agent_dir);
    if (absl::Status st = CheckIds(*store, ids, provider, shown_dir); !st.ok()) return Fail(st);
    absl::Status st = UpdateOwnStore(e, *agent, [&](AuthStore& s) -> absl::Status {
      RETURN_IF_ERROR(CheckIds(s, ids, provider, shown_dir));  // another process may have changed it
      s.SetOrder(provider, ids);
      return absl::OkStatus();
    });
    if (!st.ok()) return Fail(st);
    std::cout << "Agent: " << *agent << "\nProvider: " << provider
              << "\nAuth profile order override: " << absl::StrJoin(ids, ", ") << "\n";
    return kExitOk;
  }

  // clear: only the agent's own store can hold its override; without one there is nothing to do.
  std::string own = e.OwnAuthStorePath(*agent);
  if (own == effective) {
    absl::Status st = AuthStore::Update(own, [&](AuthStore& s) -> absl::Status {
      if (!s.exists()) return absl::OkStatus();
      s.ClearOrder(provider);
      return absl::OkStatus();
    });
    if (!st.ok()) return Fail(st);
  }
  std::cout << "Agent: " << *agent << "\nProvider: " << provider << "\nAuth profile order override cleared; "
            << FallbackText(e.config(), provider) << ".\n";
  return kExitOk;
}

// ---- status ------------------------------------------------------------------------------------

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

int RunStatus(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (std::string err = args.Parse({}, {"--json", "--check"}); !err.empty()) return Usage("models status", err);
  if (args.help()) {
    std::cout << kStatusHelp;
    return kExitOk;
  }
  if (!args.positional().empty())
    return Usage("models status", "unexpected argument \"" + args.positional()[0] + "\"");
  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  auto agent = AgentFor(**engine, common);
  if (!agent.ok()) return Fail(agent.status());
  StatusReport report;
  absl::Status st = (*engine)->Inspect(*agent, "", [&](TurnContext& ctx) { report = BuildStatus(ctx, common); });
  if (!st.ok()) return Fail(st);
  std::cout << (args.Has("--json") ? StatusJson(report) + "\n" : StatusText(report)) << std::flush;
  return args.Has("--check") ? report.exit_code : kExitOk;
}

// ---- paste-token / paste-api-key ---------------------------------------------------------------

int RunPaste(bool token, std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  const std::string verb = token ? "models auth paste-token" : "models auth paste-api-key";
  std::vector<std::string> value_flags = {"--provider", "--profile-id"};
  if (token) value_flags.push_back("--expires-in");
  if (std::string err = args.Parse(value_flags, {}); !err.empty()) return Usage(verb, err);
  if (args.help()) {
    std::cout << (token ? kPasteTokenHelp : kPasteKeyHelp);
    return kExitOk;
  }
  if (!args.positional().empty()) return Usage(verb, "unexpected argument \"" + args.positional()[0] + "\"");
  std::optional<int64_t> lifetime;
  if (args.Has("--expires-in")) {
    lifetime = ParseDurationMs(args.Value("--expires-in"));
    if (!lifetime) return Usage(verb, "bad --expires-in \"" + args.Value("--expires-in") + "\" (e.g. 30m, 12h, 365d)");
  }
  std::string provider = text::ToLower(text::Trim(args.Value("--provider")));
  if (provider.empty()) return MissingProvider();
  std::string id(text::Trim(args.Value("--profile-id")));
  if (args.Has("--profile-id") && id.empty()) return Usage(verb, "--profile-id is empty");
  if (id.empty()) id = provider + ":manual";

  auto engine = MakeEngine(common, false);
  if (!engine.ok()) return Fail(engine.status());
  Engine& e = **engine;
  auto agent = AgentFor(e, common);
  if (!agent.ok()) return Fail(agent.status());

  const std::string what = token ? "token" : "API key";
  std::string raw = ReadSecret(what);
  std::string secret(text::Trim(raw));
  if (std::string bad = BadSecret(secret, what); !bad.empty()) return Fail(absl::InvalidArgumentError(bad));

  Credential c;
  c.id = id;
  c.type = token ? "token" : "api_key";
  c.provider = provider;
  c.secret = secret;
  if (lifetime) c.expires = e.NowMs() + *lifetime;
  return SaveCredential(e, *agent, c);
}

}  // namespace

int RunModels(std::vector<std::string> argv) {
  if (argv.empty()) return Usage("models", "expected a subcommand: status, auth");
  std::string sub = argv[0];
  if (IsHelpWord(sub)) {
    std::cout << kModelsHelp;
    return kExitOk;
  }
  argv.erase(argv.begin());
  if (sub == "status") return RunStatus(std::move(argv));
  if (sub != "auth") return Usage("models", "unknown subcommand \"" + sub + "\"");
  if (argv.empty())
    return Usage("models auth",
                 "expected a subcommand: list, remove, cooldowns, order, paste-token, paste-api-key, setup-token");
  sub = argv[0];
  argv.erase(argv.begin());
  if (IsHelpWord(sub)) {
    std::cout << kAuthHelp;
    return kExitOk;
  }
  if (sub == "paste-token") return RunPaste(true, std::move(argv));
  if (sub == "setup-token") return RunSetupToken(std::move(argv));
  if (sub == "list") return RunAuthList(std::move(argv));
  if (sub == "remove") return RunAuthRemove(std::move(argv));
  if (sub == "cooldowns") return RunAuthCooldowns(std::move(argv));
  if (sub == "paste-api-key") return RunPaste(false, std::move(argv));
  if (sub != "order") return Usage("models auth", "unknown subcommand \"" + sub + "\"");
  if (argv.empty()) return Usage("models auth order", "expected get, set or clear");
  sub = argv[0];
  argv.erase(argv.begin());
  if (IsHelpWord(sub)) {
    std::cout << kOrderHelp;
    return kExitOk;
  }
  if (sub != "get" && sub != "set" && sub != "clear")
    return Usage("models auth order", "unknown subcommand \"" + sub + "\" (expected get, set or clear)");
  return RunOrder(sub, std::move(argv));
}

}  // namespace modelpin::cli
