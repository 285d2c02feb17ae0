// The Python binding of modelpin's engine (module modelpin._modelpin; the public names are
// re-exported by modelpin/__init__.py). It mirrors engine/turn/engine.h: Engine.handle answers replies,
// the session as stored and, for ordinary text, a Route; report_outcome and secret_for complete a
// model call. Every engine call runs without the GIL, so one Engine serves many Python threads.
// Errors come back as modelpin.Error carrying the engine's message, the one the CLI prints.
#include <pybind11/pybind11.h>
#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/base/clock.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/model/explain.h>

namespace py = pybind11;

namespace modelpin::python {
namespace {

// Raised for every engine error; Python sees it as modelpin.Error (a subclass of Exception).
struct EngineError {
  std::string message;
};

template <typename T>
T ValueOrThrow(absl::StatusOr<T> value) {
  if (!value.ok()) throw EngineError{std::string(value.status().message())};
  return *std::move(value);
}

void OkOrThrow(const absl::Status& status) {
  if (!status.ok()) throw EngineError{std::string(status.message())};
}

// The stored fields of a session under OpenClaw's names, as `modelpin replay --json` prints
// them, plus modelpin's own thinkingLevel when set.
py::dict SessionDict(const SessionState& s) {
  py::dict d;
  VisitOracleFields(s, [&](const char* name, const auto& value) { d[name] = value; });
  if (s.thinking_level) d["thinkingLevel"] = *s.thinking_level;
  return d;
}

// Engine.report_outcome's `result`: every error class of engine/auth/rotation.h (CallReport), and
// the short form's "success" and "auth_error" (engine/turn/engine.h CallResult) for older bots.
constexpr const char* kResultNames =
    "ok, rate_limit, overloaded, auth, billing, timeout, server_error or model_not_found";
// report_outcome's `limits`: {"requests": {"limit", "remaining", "reset_at"}, "tokens", "input_tokens",
// "output_tokens"}; a wrong name or value is a ValueError naming it.
ProviderLimits LimitsOf(const std::map<std::string, std::map<std::string, int64_t>>& in) {
  ProviderLimits l;
  for (const auto& [name, fields] : in) {
    QuotaWindow* w = name == "requests"        ? &l.requests
                     : name == "tokens"        ? &l.tokens
                     : name == "input_tokens"  ? &l.input_tokens
                     : name == "output_tokens" ? &l.output_tokens
                                               : nullptr;
    if (w == nullptr)
      throw py::value_error("limits: unknown window '" + name + "' (expected requests, tokens, input_tokens, output_tokens)");
    for (const auto& [field, v] : fields) {
      int64_t* slot = field == "limit" ? &w->limit : field == "remaining" ? &w->remaining
                      : field == "reset_at" ? &w->reset_at : nullptr;
      if (slot == nullptr)
        throw py::value_error("limits['" + name + "']: unknown field '" + field + "' (expected limit, remaining, reset_at)");
      if (v < 0) throw py::value_error("limits['" + name + "']['" + field + "'] must be 0 or more");
      *slot = v;
    }
    if (!w->known() || w->remaining > w->limit)
      throw py::value_error("limits['" + name + "']: expected limit > 0 and remaining from 0 to limit");
  }
  return l;
}

ErrorClass ParseResult(const std::string& result) {
  if (result == "success") return ErrorClass::kOk;
  if (result == "auth_error") return ErrorClass::kAuth;
  if (auto c = ParseErrorClass(result)) return *c;
  throw py::value_error("result must be " + std::string(kResultNames) + " (or success, auth_error); got '" + result + "'");
}

// A saved auth profile with its health, what `modelpin models auth list --json` shows of it.
struct AuthProfile {
  std::string id, provider, type;
  std::string secret;                 // masked by config modelpin.masking
  std::optional<int64_t> expires;     // ms since the epoch; None: does not expire
  std::string state;                  // ProfileHealth::StateName()
  std::optional<int64_t> until;       // end of the cooldown or disable
  std::string reason;                 // disabledReason, or the model cooling down
  int error_count = 0;
  std::string health;                 // "cooldown until 2026-12-01T10:00:30Z, 1 error"
};

std::vector<AuthProfile> AuthProfiles(Engine& engine, const std::string& agent, const std::string& provider) {
  auto store = ValueOrThrow(engine.Auth(agent));
  const int64_t now = engine.NowMs();
  const std::string wanted = provider.empty() ? "" : AuthProvider(provider);
  std::vector<AuthProfile> out;
  for (const Credential& c : store->profiles()) {
    if (!wanted.empty() && AuthProvider(c.provider) != wanted) continue;
    ProfileHealth h = DescribeHealth(store->Usage(c.id), "", now);
    // As `models auth list`: an expired token is "expired" whatever its stats say.
    if (c.expires && *c.expires <= now && c.type != "api_key") h.state = ProfileHealth::State::kExpired;
    AuthProfile p;
    p.id = c.id;
    p.provider = c.provider;
    p.type = c.type;
    p.secret = MaskedCredential(c, engine.config().masking(), CredentialLabel::kSecretOnly);
    p.expires = c.expires;
    p.state = std::string(h.StateName());
    if (h.until) p.until = h.until;
    p.reason = h.reason;
    p.error_count = h.errors;
    p.health = h.Text();
    out.push_back(std::move(p));
  }
  return out;
}

// What a bot tells its user when a route has no credential at all (no usable profile and no
// environment variable): what to set or store. "" when the route has profiles.
std::string MissingCredential(const Route& r) {
  if (!r.profiles.empty()) return "";
  const std::string provider = r.model.provider;
  std::string variable;
  for (const auto& row : ProviderEnvTable())
    if (row.provider == AuthProvider(provider) && !row.variables.empty()) variable = std::string(row.variables.front());
  return "No credential for " + provider + ": " +
         (variable.empty() ? "" : "set " + variable + " in the bot's environment or its state dir's .env, or ") +
         "store one with: modelpin models auth paste-api-key --provider " + provider;
}

struct EngineArgs {
  std::optional<std::string> config;
  std::optional<std::string> state_dir;
  std::optional<bool> strict;
  std::optional<std::string> sessions;
  std::optional<std::map<std::string, std::string>> environment;
};

// Opened the one way every client opens its engine (embed/open.h): the config's store (SQLite or
// Redis), plugins.load, .env credentials; a missing default config is OpenClaw's defaults.
std::unique_ptr<Engine> MakeEngine(const EngineArgs& a) {
  EngineSetup setup;
  setup.state_dir = a.state_dir.value_or("");
  setup.config_path = a.config.value_or("");
  setup.strict = a.strict;
  setup.environment = a.environment;
  if (a.sessions) {
    if (*a.sessions == ":memory:") setup.sessions = EngineSetup::Sessions::kMemory;
    else setup.sqlite_path = *a.sessions;
  }
  return ValueOrThrow(OpenEngine(std::move(setup)));
}

// Outcomes go back to a free list when Python drops them, so the next handle() refills one whose
// strings and vectors are already allocated (Engine::Handle(message, out) reuses them), as a C++
// bot that keeps one Outcome per thread does. Both ends run with the GIL held, which guards it.
struct RecycleOutcome {
  void operator()(Outcome* o) const;
};
using OutcomePtr = std::unique_ptr<Outcome, RecycleOutcome>;
std::vector<Outcome*>& FreeOutcomes() {
  static auto* list = new std::vector<Outcome*>();  // never destroyed: outcomes may outlive exit
  return *list;
}
constexpr size_t kMaxFreeOutcomes = 64;
// Buffers grown past this by a huge message are freed rather than kept for the next one.
constexpr size_t kKeepBytes = 64 * 1024;
void RecycleOutcome::operator()(Outcome* o) const {
  bool huge = o->route && o->route->text.capacity() > kKeepBytes;
  if (!huge && FreeOutcomes().size() < kMaxFreeOutcomes) FreeOutcomes().push_back(o);
  else delete o;
}
OutcomePtr NewOutcome() {
  if (FreeOutcomes().empty()) return OutcomePtr(new Outcome());
  Outcome* o = FreeOutcomes().back();
  FreeOutcomes().pop_back();
  return OutcomePtr(o);
}

const char* const kEngineDoc = R"(The modelpin engine: one per process, shared by all threads.

Engine(config=None, state_dir=None, strict=None, sessions=None, environment=None)

config       the config file (OpenClaw's openclaw.json shape); default <state_dir>/modelpin.json,
             and a missing default file means OpenClaw's defaults
state_dir    holds agents/<id>/agent/auth-profiles.json, .env and, by default, sessions.sqlite;
             the config's modelpin.store (Redis) replaces sessions.sqlite when it names one
strict       overrides the config's modelpin.strict when not None
sessions     a SQLite file, or ":memory:"; default <state_dir>/sessions.sqlite (":memory:" without
             a state_dir)
environment  the variables environment credentials come from (None: this process's environment)

Raises modelpin.Error naming the file, JSON path and line:column of a bad config or store.)";

const char* const kHandleDoc = R"(Handles one chat message; returns an Outcome.

outcome.replies are the replies to post (command replies; empty for ordinary text),
outcome.route is None or the Route of the model call an ordinary message needs, outcome.session
the session's stored fields afterwards. session defaults to "agent:<agent>:main", agent to the
config's default agent; sender is compared with commands.ownerAllowFrom for owner-only options.
Refused commands are replies with is_error set, not exceptions; store failures raise
modelpin.Error. Runs without the GIL.)";

}  // namespace
}  // namespace modelpin::python

PYBIND11_MODULE(_modelpin, m) {
  using namespace modelpin;
  using namespace modelpin::python;
  m.doc() = "modelpin's engine (use the modelpin package, which re-exports these names)";

  static py::exception<EngineError> error(m, "Error");
  error.doc() = "An engine error; str(e) is the message the modelpin CLI prints (file, JSON path, line:column).";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const EngineError& e) {
      PyErr_SetString(error.ptr(), e.message.c_str());
    }
  });

  py::class_<Reply>(m, "Reply", "A reply to post to the chat; is_error marks a refused command.")
      .def(py::init([](std::string text, bool is_error) { return Reply{std::move(text), is_error}; }),
           py::arg("text"), py::arg("is_error") = false)
      .def_readonly("text", &Reply::text)
      .def_readonly("is_error", &Reply::is_error)
      .def(py::self == py::self)
      .def("__repr__", [](const Reply& r) {
        return "Reply(text=" + py::repr(py::str(r.text)).cast<std::string>() +
               ", is_error=" + (r.is_error ? "True" : "False") + ")";
      });

  py::class_<Route>(m, "Route",
                    "Where the next model call goes: provider/model, the auth profiles to try in order, the text "
                    "the model receives, the call's own thinking level ('' = the session's) and the routing rule "
                    "that applied ('' = none).")
      .def_property_readonly("provider", [](const Route& r) { return r.model.provider; })
      .def_property_readonly("model", [](const Route& r) { return r.model.model; })
      .def_readonly("profiles", &Route::profiles)
      .def_readonly("text", &Route::text)
      .def_readonly("thinking", &Route::thinking)
      .def_readonly("rule", &Route::rule)
      .def_property_readonly("fallback_from",
                             [](const Route& r) { return r.fallback_from.provider.empty() ? std::string() : r.fallback_from.Label(); })
      .def_readonly("fallback_reason", &Route::fallback_reason)
      .def_readonly("plan", &Route::plan)
      .def_property_readonly("missing_credential", &MissingCredential)
      .def("__repr__", [](const Route& r) {
        return "Route(provider=" + py::repr(py::str(r.model.provider)).cast<std::string>() +
               ", model=" + py::repr(py::str(r.model.model)).cast<std::string>() +
               ", profiles=" + py::repr(py::cast(r.profiles)).cast<std::string>() +
               ", text=" + py::repr(py::str(r.text)).cast<std::string>() +
               ", thinking=" + py::repr(py::str(r.thinking)).cast<std::string>() +
               (r.rule.empty() ? "" : ", rule=" + py::repr(py::str(r.rule)).cast<std::string>()) + ")";
      });

  py::class_<RouteCandidate>(m, "RouteCandidate",
                             "A later step of a route's plan: a model of the configured fallbacks and the profiles it "
                             "would use (only those not cooling down).")
      .def_property_readonly("provider", [](const RouteCandidate& c) { return c.model.provider; })
      .def_property_readonly("model", [](const RouteCandidate& c) { return c.model.model; })
      .def_readonly("profiles", &RouteCandidate::profiles)
      .def("__repr__", [](const RouteCandidate& c) {
        return "RouteCandidate(provider=" + py::repr(py::str(c.model.provider)).cast<std::string>() +
               ", model=" + py::repr(py::str(c.model.model)).cast<std::string>() +
               ", profiles=" + py::repr(py::cast(c.profiles)).cast<std::string>() + ")";
      });

  py::class_<AuthProfile>(m, "AuthProfile",
                          "A saved auth profile and its health, as `modelpin models auth list --json` shows it. "
                          "The secret is masked.")
      .def_readonly("id", &AuthProfile::id)
      .def_readonly("provider", &AuthProfile::provider)
      .def_readonly("type", &AuthProfile::type)
      .def_readonly("secret", &AuthProfile::secret)
      .def_readonly("expires", &AuthProfile::expires)
      .def_readonly("state", &AuthProfile::state)
      .def_readonly("until", &AuthProfile::until)
      .def_readonly("reason", &AuthProfile::reason)
      .def_readonly("error_count", &AuthProfile::error_count)
      .def_readonly("health", &AuthProfile::health)
      .def("__repr__", [](const AuthProfile& p) {
        return "AuthProfile(id=" + py::repr(py::str(p.id)).cast<std::string>() +
               ", state=" + py::repr(py::str(p.state)).cast<std::string>() +
               ", health=" + py::repr(py::str(p.health)).cast<std::string>() + ")";
      });

  py::class_<Outcome, OutcomePtr>(m, "Outcome", "What Engine.handle decided for one message.")
      .def_readonly("agent", &Outcome::agent_id)
      .def_readonly("session_key", &Outcome::session_key)
      .def_readonly("replies", &Outcome::replies)
      .def_readonly("route", &Outcome::route)
      .def_property_readonly("session", [](const Outcome& o) { return SessionDict(o.session); },
                             "The session's stored fields after this message, OpenClaw's names.");

  py::class_<Engine>(m, "Engine", kEngineDoc)
      .def(py::init([](std::optional<std::string> config, std::optional<std::string> state_dir,
                       std::optional<bool> strict, std::optional<std::string> sessions,
                       std::optional<std::map<std::string, std::string>> environment) {
             EngineArgs args{std::move(config), std::move(state_dir), strict, std::move(sessions),
                             std::move(environment)};
             py::gil_scoped_release unlocked;
             return MakeEngine(args);
           }),
           py::kw_only(), py::arg("config") = py::none(), py::arg("state_dir") = py::none(),
           py::arg("strict") = py::none(), py::arg("sessions") = py::none(), py::arg("environment") = py::none())
      // Positional only: modelpin/__init__.py's Engine.handle takes the keywords. pybind11's keyword
      // matching (a dict copy and a lookup per name) costs more than the Python frame in front.
      .def(
          "_handle",
          [](Engine& engine, std::string_view text, std::string_view session, std::string_view agent,
             std::string_view sender) {
            // One message per thread, refilled in place: no allocation once its strings have grown.
            thread_local InboundMessage message;
            message.text.assign(text);
            message.session_key.assign(session);
            message.agent_id.assign(agent);
            message.sender.assign(sender);
            OutcomePtr outcome = NewOutcome();
            absl::Status status;
            {
              py::gil_scoped_release unlocked;
              status = engine.Handle(message, *outcome);
            }
            if (message.text.capacity() > kKeepBytes) std::string().swap(message.text);
            OkOrThrow(status);
            return outcome;
          },
          kHandleDoc)
      .def(
          "report_outcome",
          [](Engine& engine, const std::string& agent, const std::string& session, const std::string& profile,
             const std::string& result, int64_t retry_after_ms, const std::string& model,
             std::optional<int64_t> input_tokens, std::optional<int64_t> output_tokens,
             std::optional<int64_t> cache_read_tokens, std::optional<int64_t> cache_write_tokens,
             const std::string& billed_model,
             const std::optional<std::map<std::string, std::map<std::string, int64_t>>>& limits, bool probe) {
            CallReport report{profile, ParseResult(result), retry_after_ms, model};
            if (retry_after_ms < 0) throw py::value_error("retry_after_ms must be 0 or more");
            // Token counts (docs/usage-and-budgets.md): any of them given makes the call's usage.
            std::pair<const char*, std::optional<int64_t>> counts[] = {{"input_tokens", input_tokens},
                                                                       {"output_tokens", output_tokens},
                                                                       {"cache_read_tokens", cache_read_tokens},
                                                                       {"cache_write_tokens", cache_write_tokens}};
            for (const auto& [name, n] : counts) {
              if (n && *n < 0) throw py::value_error(std::string(name) + " must be 0 or more");
              if (n) report.usage.emplace();
            }
            if (report.usage)
              *report.usage = TokenUsage{input_tokens.value_or(0), output_tokens.value_or(0),
                                         cache_read_tokens.value_or(0), cache_write_tokens.value_or(0)};
            report.billed_model = billed_model;
            if (limits) report.limits = LimitsOf(*limits);
            report.probe = probe;
            if (!model.empty() && (model.find('/') == std::string::npos || model.front() == '/' || model.back() == '/'))
              throw py::value_error("model must be \"provider/model\" or \"\"; got '" + model + "'");
            py::gil_scoped_release unlocked;
            OkOrThrow(engine.ReportOutcome(agent, session, report));
          },
          "Reports how a model call with `profile` went, so the next route rotates (engine/auth/rotation.h). result: "
          "'ok', 'rate_limit', 'overloaded', 'auth', 'billing', 'timeout', 'server_error' or 'model_not_found' "
          "('success' and 'auth_error' are also taken); retry_after_ms: the provider's Retry-After (0: none); model: "
          "'provider/model' when the failure concerns that model of the profile only. Recorded in the agent's auth "
          "store (or the shared store). input_tokens, output_tokens, cache_read_tokens, cache_write_tokens: the "
          "tokens the call used, priced as billed_model (default: model) from the catalog "
          "(docs/usage-and-budgets.md); limits: the provider's reported quota, {'requests': {'limit': 100, "
          "'remaining': 12, 'reset_at': ms}, 'tokens': ..., 'input_tokens': ..., 'output_tokens': ...} (docs/rotation.md, "
          "quota_aware); probe: the call was a probe of a disabled profile (docs/probing.md). Runs without the GIL.",
          py::arg("agent"), py::arg("session"), py::arg("profile"), py::arg("result"), py::kw_only(),
          py::arg("retry_after_ms") = 0, py::arg("model") = "", py::arg("input_tokens") = py::none(),
          py::arg("output_tokens") = py::none(), py::arg("cache_read_tokens") = py::none(),
          py::arg("cache_write_tokens") = py::none(), py::arg("billed_model") = "", py::arg("limits") = py::none(),
          py::arg("probe") = false)
      .def(
          "secret_for",
          [](Engine& engine, const std::string& agent, const std::string& profile) {
            py::gil_scoped_release unlocked;
            return ValueOrThrow(engine.SecretFor(agent, profile));
          },
          "The secret behind a route's profile id ('anthropic:work', 'env:ANTHROPIC_API_KEY'), for the model "
          "call. Never log it.",
          py::arg("agent"), py::arg("profile"))
      .def("resolve_agent", &Engine::ResolveAgent,
           "The agent id the engine uses for `agent` ('' = the config's default agent).", py::arg("agent"))
      .def(
          "session",
          [](Engine& engine, const std::string& session, const std::string& agent) {
            SessionState s;
            {
              py::gil_scoped_release unlocked;
              s = ValueOrThrow(engine.Session(agent, session));
            }
            return SessionDict(s);
          },
          "The stored fields of a session (as Outcome.session), without handling a message.", py::arg("session"),
          py::kw_only(), py::arg("agent") = "")
      .def(
          "session_keys",
          [](Engine& engine, const std::string& agent) {
            py::gil_scoped_release unlocked;
            return ValueOrThrow(engine.SessionKeys(agent));
          },
          "The keys of the agent's stored sessions, as `modelpin sessions list` lists them.", py::kw_only(),
          py::arg("agent") = "")
      .def(
          "_session_entry",
          [](Engine& engine, const std::string& session, const std::string& agent) {
            py::gil_scoped_release unlocked;
            SessionState s = ValueOrThrow(engine.Session(agent, session));
            return s.empty() ? std::string("{}") : s.StorageJson();
          },
          py::arg("session"), py::arg("agent"))
      .def(
          "auth_profiles",
          [](Engine& engine, const std::string& agent, const std::string& provider) {
            py::gil_scoped_release unlocked;
            return AuthProfiles(engine, agent, provider);
          },
          "The agent's saved auth profiles in store order, each with its health, as `modelpin models auth list` "
          "shows them (secrets masked). provider: only that provider's.",
          py::kw_only(), py::arg("agent") = "", py::arg("provider") = "")
      .def(
          "_explain",
          [](Engine& engine, const std::string& ref, const std::string& session, const std::string& agent, bool json) {
            std::string out;
            absl::Status status;
            {
              py::gil_scoped_release unlocked;
              status = engine.Inspect(agent, session, [&](TurnContext& ctx) {
                out = json ? model_plugin::ExplainJson(ctx, ref) : model_plugin::ExplainText(ctx, ref);
              });
            }
            OkOrThrow(status);
            return out;
          },
          py::arg("ref"), py::arg("session"), py::arg("agent"), py::arg("json"));
}
