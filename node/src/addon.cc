// The Node.js binding of modelpin's engine (the addon modelpin.node; node/index.js is the package's
// entry and adds ModelpinError and the parsed form of explain). It mirrors engine/turn/engine.h in
// JavaScript's conventions; docs/node.md describes the API.
//
// Store work never runs on the event loop: handle, session, reportOutcome, secretFor, profileHealth
// and explain return Promises and run on libuv's thread pool (Napi::AsyncWorker). handleSync and
// sessionSync run on the calling thread and are refused unless the engine is memory-only: its
// sessions and auth health live in memory (sessions ":memory:" or no state dir, and no
// modelpin.store), where a turn costs well under a microsecond; on such an engine handle runs the
// turn at once too and returns a settled Promise (a trip through the thread pool would cost ten
// times the turn). Engine.open opens on the thread pool; `new Engine` opens at once, as a bot does
// at start-up.
//
// The turns of one session run in the order `handle` was called: a call for an (agent, session)
// pair that already has one in flight waits for it (one queue per pair), so a bot that does not
// await each message still sees "/model sonnet" applied before the "hello" that follows it.
#include <napi.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <modelpin/base/clock.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/plugins/model/explain.h>

namespace modelpin::node {
namespace {

// What the module keeps per Node environment (main thread or worker thread).
struct AddonData {
  Napi::FunctionReference engine_class;
  Napi::FunctionReference error_class;  // ModelpinError, set by index.js
  // index.js's makeOutcome and makeSession: they build the result objects from positional
  // values. One call into JavaScript, whose object literals have fixed shapes, costs a fraction
  // of setting each property through Node-API (which looks each name up in V8's string table).
  Napi::FunctionReference make_outcome;
  Napi::FunctionReference make_session;
};

// An engine error as a ModelpinError carrying the engine's message (the one the CLI prints after
// "modelpin: "), or a plain Error before index.js has named the class.
Napi::Error ModelpinError(Napi::Env env, const std::string& message) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data && !data->error_class.IsEmpty()) {
    Napi::Value e = data->error_class.New({Napi::String::New(env, message)});
    return Napi::Error(env, e);
  }
  return Napi::Error::New(env, message);
}

// ---- arguments --------------------------------------------------------------------------------

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (i >= info.Length() || !info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

// An optional string property of an options object: "" when absent or undefined.
std::string StringOption(const Napi::Object& o, const char* name, const char* where) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() || v.IsNull()) return {};
  if (!v.IsString())
    throw Napi::TypeError::New(o.Env(), std::string(where) + "." + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// The options argument at `i`: undefined or an object.
std::optional<Napi::Object> OptionsArg(const Napi::CallbackInfo& info, size_t i, const char* where) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return std::nullopt;
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(where) + " options must be an object");
  return info[i].As<Napi::Object>();
}

// ---- results ----------------------------------------------------------------------------------


// A JS string: ASCII (the usual ids, keys and model names) is copied as Latin-1, which V8 takes
// as is; anything else is decoded as UTF-8.
napi_value Str(napi_env env, const std::string& v) {
  napi_value out;
  bool ascii = true;
  for (unsigned char c : v) ascii &= c < 0x80;
  if (ascii) napi_create_string_latin1(env, v.data(), v.size(), &out);
  else napi_create_string_utf8(env, v.data(), v.size(), &out);
  return out;
}

// The strings of one result, each distinct value made once: a session's provider, model and pinned
// profile are usually its route's too.
class Strings {
 public:
  explicit Strings(napi_env env) : env_(env) {}
  napi_value operator()(const std::string& v) {
    for (size_t i = 0; i < n_; ++i)
      if (seen_[i].first->size() == v.size() && *seen_[i].first == v) return seen_[i].second;
    napi_value out = Str(env_, v);
    if (n_ < kMax) seen_[n_++] = {&v, out};
    return out;
  }
  // A value that is `v` when `js` holds the same text (the message's own string).
  void Know(const std::string& v, napi_value js) {
    if (n_ < kMax) seen_[n_++] = {&v, js};
  }

 private:
  static constexpr size_t kMax = 24;
  napi_env env_;
  std::pair<const std::string*, napi_value> seen_[kMax];
  size_t n_ = 0;
};

// The ten session fields in index.js's makeSession order (undefined when unset): OpenClaw's, as
// `modelpin replay --json` prints them, then modelpin's own thinkingLevel.
constexpr size_t kSessionArgs = 10;
void SessionArgs(napi_env env, Strings& str, const SessionState& s, napi_value* argv) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  for (size_t i = 0; i < kSessionArgs; ++i) argv[i] = undefined;
  auto set = [&](size_t i, const std::optional<std::string>& v) {
    if (v) argv[i] = str(*v);
  };
  set(0, s.agent_runtime_override);
  set(1, s.auth_profile_override);
  if (s.auth_profile_override_compaction_count)
    napi_create_int32(env, *s.auth_profile_override_compaction_count, &argv[2]);
  set(3, s.auth_profile_override_source);
  if (s.live_model_switch_pending) napi_get_boolean(env, *s.live_model_switch_pending, &argv[4]);
  set(5, s.model_override);
  set(6, s.model_override_route_resolution);
  set(7, s.model_override_source);
  set(8, s.provider_override);
  set(9, s.thinking_level);
}

Napi::Value Call(Napi::Env env, const Napi::FunctionReference& fn, size_t argc, const napi_value* argv) {
  napi_value undefined, result;
  napi_get_undefined(env, &undefined);
  napi_status st = napi_call_function(env, undefined, fn.Value(), argc, argv, &result);
  if (st != napi_ok) throw Napi::Error::New(env);
  return Napi::Value(env, result);
}

Napi::Value SessionObject(Napi::Env env, const SessionState& s) {
  napi_value argv[kSessionArgs];
  Strings str(env);
  SessionArgs(env, str, s, argv);
  return Call(env, env.GetInstanceData<AddonData>()->make_session, kSessionArgs, argv);
}

napi_value StringArray(napi_env env, const std::vector<std::string>& v) {
  napi_value a;
  napi_create_array_with_length(env, v.size(), &a);
  for (uint32_t i = 0; i < v.size(); ++i) napi_set_element(env, a, i, Str(env, v[i]));
  return a;
}

// The rotation part of a route, only when the config has fallbacks (as `replay --json` prints it):
// {fallbackFrom, fallbackReason, plan}, or undefined.
Napi::Value RouteExtra(Napi::Env env, const Route& r) {
  if (r.fallback_from.provider.empty() && r.plan.empty()) return env.Undefined();
  Napi::Object o = Napi::Object::New(env);
  if (!r.fallback_from.provider.empty()) {
    o.Set("fallbackFrom", Napi::Value(env, Str(env, r.fallback_from.Label())));
    o.Set("fallbackReason", Napi::Value(env, Str(env, r.fallback_reason)));
  }
  if (!r.plan.empty()) {
    Napi::Array plan = Napi::Array::New(env, r.plan.size());
    for (uint32_t i = 0; i < r.plan.size(); ++i) {
      Napi::Object step = Napi::Object::New(env);
      step.Set("model", Napi::Value(env, Str(env, r.plan[i].model.Label())));
      step.Set("profiles", Napi::Value(env, StringArray(env, r.plan[i].profiles)));
      plan.Set(i, step);
    }
    o.Set("plan", plan);
  }
  return o;
}

// makeOutcome(sessionKey, agent, replies, provider, model, text, thinking, rule, extra, ...the
// session's ten fields, ...the route's profiles). replies: undefined when there is none, else
// [text, isError, ...]; provider undefined: no route. `message_text`, when given, is the JS string
// the message came in: an ordinary message's route text is usually that very text, not copied.
Napi::Value OutcomeObject(Napi::Env env, const Outcome& out, napi_value message_text = nullptr,
                          const std::string* message = nullptr) {
  constexpr size_t kFixed = 9 + kSessionArgs;
  const size_t profiles = out.route ? out.route->profiles.size() : 0;
  napi_value small[kFixed + 8];
  std::vector<napi_value> big;
  napi_value* argv = small;
  if (profiles > 8) {
    big.resize(kFixed + profiles);
    argv = big.data();
  }
  Strings str(env);
  if (message_text) str.Know(*message, message_text);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  argv[0] = str(out.session_key);
  argv[1] = str(out.agent_id);
  argv[2] = undefined;
  if (!out.replies.empty()) {
    napi_create_array_with_length(env, out.replies.size() * 2, &argv[2]);
    for (uint32_t i = 0; i < out.replies.size(); ++i) {
      napi_value is_error;
      napi_get_boolean(env, out.replies[i].is_error, &is_error);
      napi_set_element(env, argv[2], 2 * i, Str(env, out.replies[i].text));
      napi_set_element(env, argv[2], 2 * i + 1, is_error);
    }
  }
  for (size_t i = 3; i < 9; ++i) argv[i] = undefined;
  if (out.route) {
    const Route& r = *out.route;
    argv[3] = str(r.model.provider);
    argv[4] = str(r.model.model);
    argv[5] = str(r.text);
    argv[6] = str(r.thinking);
    argv[7] = str(r.rule);
    argv[8] = RouteExtra(env, r);
    for (size_t i = 0; i < profiles; ++i) argv[kFixed + i] = str(r.profiles[i]);
  }
  SessionArgs(env, str, out.session, argv + 9);
  return Call(env, env.GetInstanceData<AddonData>()->make_outcome, kFixed + profiles, argv);
}

Napi::Array HealthArray(Napi::Env env, const std::vector<std::pair<std::string, ProfileHealth>>& health) {
  Napi::Array a = Napi::Array::New(env, health.size());
  for (uint32_t i = 0; i < health.size(); ++i) {
    const auto& [id, h] = health[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("profile", Napi::String::New(env, id));
    o.Set("state", Napi::String::New(env, std::string(h.StateName())));
    o.Set("until", Napi::Number::New(env, static_cast<double>(h.until)));
    o.Set("reason", Napi::String::New(env, h.reason));
    o.Set("errors", Napi::Number::New(env, h.errors));
    o.Set("text", Napi::String::New(env, h.Text()));
    a.Set(i, o);
  }
  return a;
}

// ---- the engine -------------------------------------------------------------------------------

// An opened engine and whether it is memory-only (the synchronous forms are allowed).
struct Opened {
  std::shared_ptr<Engine> engine;
  bool memory_only = false;
};

absl::StatusOr<Opened> Open(EngineSetup setup) {
  bool memory_sessions = setup.sessions == EngineSetup::Sessions::kMemory ||
                         (setup.state_dir.empty() && setup.sqlite_path.empty());
  auto engine = OpenEngine(std::move(setup));
  if (!engine.ok()) return engine.status();
  Opened o;
  o.memory_only = memory_sessions && (*engine)->config().store().url.empty();
  o.engine = std::shared_ptr<Engine>(std::move(*engine));
  return o;
}

// new Engine({config, stateDir, strict, sessions, environment}) and Engine.open(...)'s argument.
EngineSetup SetupFromOptions(const Napi::CallbackInfo& info) {
  EngineSetup setup;
  auto opts = OptionsArg(info, 0, "Engine");
  if (!opts) return setup;
  const Napi::Object& o = *opts;
  setup.config_path = StringOption(o, "config", "options");
  setup.state_dir = StringOption(o, "stateDir", "options");
  Napi::Value strict = o.Get("strict");
  if (strict.IsBoolean()) setup.strict = strict.As<Napi::Boolean>().Value();
  else if (!strict.IsUndefined() && !strict.IsNull())
    throw Napi::TypeError::New(info.Env(), "options.strict must be a boolean");
  std::string sessions = StringOption(o, "sessions", "options");
  if (sessions == ":memory:") setup.sessions = EngineSetup::Sessions::kMemory;
  else setup.sqlite_path = sessions;
  Napi::Value env = o.Get("environment");
  if (env.IsObject()) {
    std::map<std::string, std::string> vars;
    Napi::Object e = env.As<Napi::Object>();
    Napi::Array names = e.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      Napi::Value name = names.Get(i);
      Napi::Value value = e.Get(name);
      if (!value.IsString())
        throw Napi::TypeError::New(info.Env(), "options.environment values must be strings");
      vars[name.ToString().Utf8Value()] = value.As<Napi::String>().Utf8Value();
    }
    setup.environment = std::move(vars);
  } else if (!env.IsUndefined() && !env.IsNull()) {
    throw Napi::TypeError::New(info.Env(), "options.environment must be an object of strings");
  }
  return setup;
}

const napi_type_tag kOpenedTag = {0x6d6f64656c70696eULL, 0x6f70656e65640001ULL};

class EngineWrap;

// A Promise settled on the main thread with what `Execute` computed on the thread pool.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env, "modelpin"), deferred_(env) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  // Runs on the main thread; returns the value to resolve with.
  virtual Napi::Value Result(Napi::Env env) = 0;
  void Fail(const absl::Status& status) { error_ = std::string(status.message()); }
  void OnOK() override {
    Napi::Env env = Env();
    if (error_) {
      deferred_.Reject(ModelpinError(env, *error_).Value());
    } else {
      try {
        deferred_.Resolve(Result(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      }
    }
    Settled();
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(e.Value());
    Settled();
  }
  virtual void Settled() {}

 private:
  Napi::Promise::Deferred deferred_;
  std::optional<std::string> error_;
};

class OpenWorker : public PromiseWorker {
 public:
  OpenWorker(Napi::Env env, EngineSetup setup) : PromiseWorker(env), setup_(std::move(setup)) {}
  void Execute() override {
    auto opened = Open(std::move(setup_));
    if (!opened.ok()) return Fail(opened.status());
    opened_ = *std::move(opened);
  }
  Napi::Value Result(Napi::Env env) override {
    auto* holder = new Opened(std::move(opened_));
    auto external = Napi::External<Opened>::New(env, holder, [](Napi::Env, Opened* o) { delete o; });
    external.TypeTag(&kOpenedTag);
    return env.GetInstanceData<AddonData>()->engine_class.New({external});
  }

 private:
  EngineSetup setup_;
  Opened opened_;
};

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Engine",
                       {
                           StaticMethod<&EngineWrap::OpenAsync>("open"),
                           InstanceMethod<&EngineWrap::Handle>("_handle"),
                           InstanceMethod<&EngineWrap::HandleSync>("_handleSync"),
                           InstanceMethod<&EngineWrap::SessionAsync>("session"),
                           InstanceMethod<&EngineWrap::SessionSync>("sessionSync"),
                           InstanceMethod<&EngineWrap::SessionKeysAsync>("sessionKeys"),
                           InstanceMethod<&EngineWrap::ReportOutcome>("reportOutcome"),
                           InstanceMethod<&EngineWrap::SecretFor>("secretFor"),
                           InstanceMethod<&EngineWrap::ProfileHealth>("profileHealth"),
                           InstanceMethod<&EngineWrap::ExplainJson>("explainJson"),
                           InstanceMethod<&EngineWrap::ResolveAgent>("resolveAgent"),
                           InstanceAccessor<&EngineWrap::MemoryOnly>("memoryOnly"),
                       });
  }

  explicit EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() == 1 && info[0].IsExternal() &&
        info[0].As<Napi::External<Opened>>().CheckTypeTag(&kOpenedTag)) {
      Opened* o = info[0].As<Napi::External<Opened>>().Data();
      engine_ = std::move(o->engine);
      memory_only_ = o->memory_only;
      return;
    }
    if (!info.IsConstructCall()) throw Napi::TypeError::New(env, "Engine must be called with new");
    auto opened = Open(SetupFromOptions(info));
    if (!opened.ok()) throw ModelpinError(env, std::string(opened.status().message()));
    engine_ = std::move(opened->engine);
    memory_only_ = opened->memory_only;
  }

  const std::shared_ptr<Engine>& engine() const { return engine_; }

  // The next call waiting behind a finished one for the same (agent, session), or the pair's end.
  void TurnDone(const std::string& key);

 private:
  static Napi::Value OpenAsync(const Napi::CallbackInfo& info) {
    auto* w = new OpenWorker(info.Env(), SetupFromOptions(info));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // _handle(text, session, agent, sender) -> Promise<Outcome>
  Napi::Value Handle(const Napi::CallbackInfo& info);
  // _handleSync(text, session, agent, sender) -> Outcome (memory-only engines)
  Napi::Value HandleSync(const Napi::CallbackInfo& info) {
    RequireMemory(info.Env(), "handleSync");
    std::string error;
    Napi::Value out = HandleHere(info, error);
    if (!error.empty()) throw ModelpinError(info.Env(), error);
    return out;
  }
  // One turn on this thread; an engine error is returned in `error`. A memory-only engine's turn
  // takes well under a microsecond: both forms of handle run it here.
  Napi::Value HandleHere(const Napi::CallbackInfo& info, std::string& error) {
    Napi::Env env = info.Env();
    thread_local InboundMessage message;
    FillMessage(info, message);
    thread_local Outcome out;
    absl::Status st = engine_->Handle(message, out);
    Napi::Value result = st.ok() ? OutcomeObject(env, out, info[0], &message.text) : env.Undefined();
    if (!st.ok()) error = st.message().empty() ? "engine error" : std::string(st.message());
    // A huge message's buffers are not kept for the next one.
    if (message.text.capacity() > 64 * 1024) std::string().swap(message.text);
    if (out.route && out.route->text.capacity() > 64 * 1024) out = Outcome();
    return result;
  }

  // session(key, {agent}) -> Promise<Session>; sessionSync (memory-only engines).
  Napi::Value SessionAsync(const Napi::CallbackInfo& info) {
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string agent, std::string key)
          : PromiseWorker(env), e_(std::move(e)), agent_(std::move(agent)), key_(std::move(key)) {}
      void Execute() override {
        auto s = e_->Session(agent_, key_);
        if (!s.ok()) return Fail(s.status());
        state_ = *std::move(s);
      }
      Napi::Value Result(Napi::Env env) override { return SessionObject(env, state_); }

     private:
      std::shared_ptr<Engine> e_;
      std::string agent_, key_;
      SessionState state_;
    };
    std::string key = StringArg(info, 0, "session key");
    std::string agent = AgentOption(info, 1, "session");
    auto* w = new W(info.Env(), engine_, std::move(agent), std::move(key));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  // sessionKeys({agent}) -> Promise<string[]>: the agent's stored session keys, sorted (what
  // `modelpin sessions list` lists).
  Napi::Value SessionKeysAsync(const Napi::CallbackInfo& info) {
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string agent)
          : PromiseWorker(env), e_(std::move(e)), agent_(std::move(agent)) {}
      void Execute() override {
        auto keys = e_->SessionKeys(agent_);
        if (!keys.ok()) return Fail(keys.status());
        keys_ = *std::move(keys);
      }
      Napi::Value Result(Napi::Env env) override {
        Napi::Array out = Napi::Array::New(env, keys_.size());
        for (size_t i = 0; i < keys_.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::String::New(env, keys_[i]));
        return out;
      }

     private:
      std::shared_ptr<Engine> e_;
      std::string agent_;
      std::vector<std::string> keys_;
    };
    std::string agent = AgentOption(info, 0, "sessionKeys");
    auto* w = new W(info.Env(), engine_, std::move(agent));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  Napi::Value SessionSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RequireMemory(env, "sessionSync");
    std::string key = StringArg(info, 0, "session key");
    std::string agent = AgentOption(info, 1, "sessionSync");
    auto s = engine_->Session(agent, key);
    if (!s.ok()) throw ModelpinError(env, std::string(s.status().message()));
    return SessionObject(env, *s);
  }

  // reportOutcome(agent, session, profile, result) with result one of CallResult's five, or
  // reportOutcome(agent, session, {profile, error, retryAfterMs, model, limits, probe}) as CallReport.
  Napi::Value ReportOutcome(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string agent = StringArg(info, 0, "agent");
    std::string session = StringArg(info, 1, "session");
    std::optional<CallResult> result;
    CallReport report;
    if (info.Length() >= 3 && info[2].IsObject()) {
      Napi::Object r = info[2].As<Napi::Object>();
      report.profile_id = StringOption(r, "profile", "report");
      if (report.profile_id.empty()) throw Napi::TypeError::New(env, "report.profile must be a non-empty string");
      std::string error = StringOption(r, "error", "report");
      auto cls = ParseErrorClass(error.empty() ? "ok" : error);
      if (!cls)
        throw Napi::RangeError::New(env, "report.error must be one of ok, rate_limit, overloaded, auth, billing, "
                                         "timeout, server_error, model_not_found; got '" + error + "'");
      report.error = *cls;
      Napi::Value retry = r.Get("retryAfterMs");
      if (retry.IsNumber()) report.retry_after_ms = retry.As<Napi::Number>().Int64Value();
      else if (!retry.IsUndefined() && !retry.IsNull())
        throw Napi::TypeError::New(env, "report.retryAfterMs must be a number");
      report.model = StringOption(r, "model", "report");
      report.billed_model = StringOption(r, "billedModel", "report");
      // Token counts (docs/usage-and-budgets.md): any of them given makes the call's usage.
      std::pair<const char*, int64_t TokenUsage::*> counts[] = {{"inputTokens", &TokenUsage::input},
                                                                {"outputTokens", &TokenUsage::output},
                                                                {"cacheReadTokens", &TokenUsage::cache_read},
                                                                {"cacheWriteTokens", &TokenUsage::cache_write}};
      for (const auto& [name, field] : counts) {
        Napi::Value n = r.Get(name);
        if (n.IsUndefined() || n.IsNull()) continue;
        if (!n.IsNumber() || n.As<Napi::Number>().Int64Value() < 0)
          throw Napi::TypeError::New(env, std::string("report.") + name + " must be a number, 0 or more");
        if (!report.usage) report.usage.emplace();
        (*report.usage).*field = n.As<Napi::Number>().Int64Value();
      }
      // limits: {requests: {limit, remaining, resetAt}, tokens, inputTokens, outputTokens}.
      Napi::Value limits = r.Get("limits");
      if (limits.IsObject()) {
        ProviderLimits l;
        Napi::Object lo = limits.As<Napi::Object>();
        Napi::Array names = lo.GetPropertyNames();
        for (uint32_t i = 0; i < names.Length(); ++i) {
          std::string name = names.Get(i).As<Napi::String>().Utf8Value();
          QuotaWindow* w = name == "requests"       ? &l.requests
                           : name == "tokens"       ? &l.tokens
                           : name == "inputTokens"  ? &l.input_tokens
                           : name == "outputTokens" ? &l.output_tokens
                                                    : nullptr;
          if (w == nullptr)
            throw Napi::RangeError::New(env, "report.limits." + name +
                                                 ": unknown window (expected requests, tokens, inputTokens, outputTokens)");
          Napi::Value wv = lo.Get(name);
          if (!wv.IsObject()) throw Napi::TypeError::New(env, "report.limits." + name + " must be an object");
          Napi::Object wo = wv.As<Napi::Object>();
          for (const char* field : {"limit", "remaining", "resetAt"}) {
            Napi::Value v = wo.Get(field);
            if (v.IsUndefined() || v.IsNull()) continue;
            if (!v.IsNumber() || v.As<Napi::Number>().Int64Value() < 0)
              throw Napi::TypeError::New(env, "report.limits." + name + "." + field + " must be a number >= 0");
            int64_t n = v.As<Napi::Number>().Int64Value();
            if (std::string_view(field) == "limit") w->limit = n;
            else if (std::string_view(field) == "remaining") w->remaining = n;
            else w->reset_at = n;
          }
          if (!w->known() || w->remaining > w->limit)
            throw Napi::RangeError::New(env, "report.limits." + name + ": expected limit > 0 and remaining from 0 to limit");
        }
        if (!l.empty()) report.limits = l;
      } else if (!limits.IsUndefined() && !limits.IsNull()) {
        throw Napi::TypeError::New(env, "report.limits must be an object");
      }
      Napi::Value probe = r.Get("probe");
      if (probe.IsBoolean()) report.probe = probe.As<Napi::Boolean>().Value();
      else if (!probe.IsUndefined() && !probe.IsNull()) throw Napi::TypeError::New(env, "report.probe must be a boolean");
    } else {
      report.profile_id = StringArg(info, 2, "profile");
      std::string name = StringArg(info, 3, "result");
      static const std::map<std::string, CallResult> kResults = {
          {"success", CallResult::kSuccess},       {"auth_error", CallResult::kAuthError},
          {"rate_limit", CallResult::kRateLimit}, {"billing", CallResult::kBilling},
          {"timeout", CallResult::kTimeout},
      };
      auto it = kResults.find(name);
      if (it == kResults.end())
        throw Napi::RangeError::New(
            env, "result must be one of success, auth_error, rate_limit, billing, timeout; got '" + name + "'");
      result = it->second;
    }
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string agent, std::string session,
        std::optional<CallResult> result, CallReport report)
          : PromiseWorker(env), e_(std::move(e)), agent_(std::move(agent)), session_(std::move(session)),
            result_(result), report_(std::move(report)) {}
      void Execute() override {
        absl::Status st = result_ ? e_->ReportOutcome(agent_, session_, report_.profile_id, *result_)
                                  : e_->ReportOutcome(agent_, session_, report_);
        if (!st.ok()) Fail(st);
      }
      Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

     private:
      std::shared_ptr<Engine> e_;
      std::string agent_, session_;
      std::optional<CallResult> result_;
      CallReport report_;
    };
    auto* w = new W(env, engine_, std::move(agent), std::move(session), result, std::move(report));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // secretFor(agent, profile) -> Promise<string>
  Napi::Value SecretFor(const Napi::CallbackInfo& info) {
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string agent, std::string profile)
          : PromiseWorker(env), e_(std::move(e)), agent_(std::move(agent)), profile_(std::move(profile)) {}
      void Execute() override {
        auto s = e_->SecretFor(agent_, profile_);
        if (!s.ok()) return Fail(s.status());
        secret_ = *std::move(s);
      }
      Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, secret_); }

     private:
      std::shared_ptr<Engine> e_;
      std::string agent_, profile_, secret_;
    };
    std::string agent = StringArg(info, 0, "agent");
    std::string profile = StringArg(info, 1, "profile");
    auto* w = new W(info.Env(), engine_, std::move(agent), std::move(profile));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // profileHealth(route, {agent}) -> Promise<ProfileHealth[]>: Engine::RouteHealth of a route
  // that handle returned (its provider, model, profiles and rule are read).
  Napi::Value ProfileHealth(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "route must be an object");
    Napi::Object r = info[0].As<Napi::Object>();
    Route route;
    route.model.provider = StringOption(r, "provider", "route");
    route.model.model = StringOption(r, "model", "route");
    route.rule = StringOption(r, "rule", "route");
    Napi::Value profiles = r.Get("profiles");
    if (!profiles.IsArray()) throw Napi::TypeError::New(env, "route.profiles must be an array of strings");
    Napi::Array a = profiles.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value v = a.Get(i);
      if (!v.IsString()) throw Napi::TypeError::New(env, "route.profiles must be an array of strings");
      route.profiles.push_back(v.As<Napi::String>().Utf8Value());
    }
    std::string agent = AgentOption(info, 1, "profileHealth");
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string agent, Route route)
          : PromiseWorker(env), e_(std::move(e)), agent_(std::move(agent)), route_(std::move(route)) {}
      void Execute() override { health_ = e_->RouteHealth(agent_, route_); }
      Napi::Value Result(Napi::Env env) override { return HealthArray(env, health_); }

     private:
      std::shared_ptr<Engine> e_;
      std::string agent_;
      Route route_;
      std::vector<std::pair<std::string, modelpin::ProfileHealth>> health_;
    };
    auto* w = new W(env, engine_, std::move(agent), std::move(route));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // explainJson(ref, {session, agent}) -> Promise<string>: `modelpin explain REF --json`'s object
  // (index.js's explain parses it).
  Napi::Value ExplainJson(const Napi::CallbackInfo& info) {
    std::string ref = StringArg(info, 0, "reference");
    std::string agent, session;
    if (auto o = OptionsArg(info, 1, "explain")) {
      agent = StringOption(*o, "agent", "options");
      session = StringOption(*o, "session", "options");
    }
    class W : public PromiseWorker {
     public:
      W(Napi::Env env, std::shared_ptr<Engine> e, std::string ref, std::string agent, std::string session)
          : PromiseWorker(env), e_(std::move(e)), ref_(std::move(ref)), agent_(std::move(agent)),
            session_(std::move(session)) {}
      void Execute() override {
        absl::Status st = e_->Inspect(agent_, session_, [&](TurnContext& ctx) {
          json_ = model_plugin::ExplainJson(ctx, ref_);
        });
        if (!st.ok()) Fail(st);
      }
      Napi::Value Result(Napi::Env env) override { return Napi::String::New(env, json_); }

     private:
      std::shared_ptr<Engine> e_;
      std::string ref_, agent_, session_, json_;
    };
    auto* w = new W(info.Env(), engine_, std::move(ref), std::move(agent), std::move(session));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // resolveAgent(agent) -> string: the agent id the engine uses ("" = the config's default).
  Napi::Value ResolveAgent(const Napi::CallbackInfo& info) {
    std::string agent = info.Length() == 0 || info[0].IsUndefined() ? "" : StringArg(info, 0, "agent");
    return Napi::String::New(info.Env(), engine_->ResolveAgent(agent));
  }

  Napi::Value MemoryOnly(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), memory_only_); }

  void RequireMemory(Napi::Env env, const char* what) const {
    if (!memory_only_)
      throw ModelpinError(env, std::string(what) +
                                   " needs an engine whose sessions live in memory (sessions: \":memory:\" and no "
                                   "modelpin.store); this one keeps them in a store: use await engine." +
                                   (std::string(what) == "handleSync" ? "handle" : "session") + "(...)");
  }

  static std::string AgentOption(const Napi::CallbackInfo& info, size_t i, const char* where) {
    auto o = OptionsArg(info, i, where);
    return o ? StringOption(*o, "agent", "options") : std::string();
  }

  // Reads a string argument into `out`, reusing its buffer (one copy in the usual case);
  // undefined reads as "" when `optional`.
  static void ReadString(const Napi::CallbackInfo& info, size_t i, std::string& out, bool optional, const char* what) {
    napi_env env = info.Env();
    napi_value v = i < info.Length() ? static_cast<napi_value>(info[i]) : nullptr;
    if (!v || (optional && info[i].IsUndefined())) {
      if (!optional) throw Napi::TypeError::New(env, std::string(what) + " must be a string");
      out.clear();
      return;
    }
    if (out.capacity() < 64) out.reserve(64);
    size_t cap = out.capacity();
    out.resize(cap);
    size_t len = 0;
    if (napi_get_value_string_utf8(env, v, out.data(), cap + 1, &len) != napi_ok) {
      out.clear();
      throw Napi::TypeError::New(env, std::string(what) + " must be a string");
    }
    if (len + 4 > cap) {  // perhaps cut short: read the exact length
      size_t full = 0;
      napi_get_value_string_utf8(env, v, nullptr, 0, &full);
      if (full > len) {
        out.resize(full);
        napi_get_value_string_utf8(env, v, out.data(), full + 1, &len);
      }
    }
    out.resize(len);
  }

  // _handle(text, session, agent, sender): index.js's handle passes the options positionally.
  static void FillMessage(const Napi::CallbackInfo& info, InboundMessage& m) {
    ReadString(info, 0, m.text, false, "text");
    ReadString(info, 1, m.session_key, true, "options.session");
    ReadString(info, 2, m.agent_id, true, "options.agent");
    ReadString(info, 3, m.sender, true, "options.sender");
  }

  friend class HandleWorker;
  std::shared_ptr<Engine> engine_;
  bool memory_only_ = false;
  // Calls waiting behind one in flight, by agent '\x1f' session; a key is present while its pair
  // has a call in flight.
  std::unordered_map<std::string, std::deque<class HandleWorker*>> waiting_;
};

class HandleWorker : public PromiseWorker {
 public:
  HandleWorker(Napi::Env env, EngineWrap* wrap, Napi::Object self) : PromiseWorker(env), wrap_(wrap),
      engine_(wrap->engine()), self_(Napi::Persistent(self)) {}
  InboundMessage& message() { return message_; }
  std::string key;

  void Execute() override {
    absl::Status st = engine_->Handle(message_, out_);
    if (!st.ok()) Fail(st);
  }
  Napi::Value Result(Napi::Env env) override { return OutcomeObject(env, out_); }
  void Settled() override { wrap_->TurnDone(key); }

 private:
  EngineWrap* wrap_;  // kept alive by self_
  std::shared_ptr<Engine> engine_;
  Napi::ObjectReference self_;
  InboundMessage message_;
  Outcome out_;
};

Napi::Value EngineWrap::Handle(const Napi::CallbackInfo& info) {
  if (memory_only_) {  // nothing to wait for: the turn runs here, the Promise is settled at once
    Napi::Env env = info.Env();
    std::string error;
    Napi::Value out = HandleHere(info, error);
    auto deferred = Napi::Promise::Deferred::New(env);
    if (error.empty()) deferred.Resolve(out);
    else deferred.Reject(ModelpinError(env, error).Value());
    return deferred.Promise();
  }
  auto* w = new HandleWorker(info.Env(), this, info.This().As<Napi::Object>());
  try {
    FillMessage(info, w->message());
  } catch (...) {
    delete w;
    throw;
  }
  w->key = w->message().agent_id;
  w->key.push_back('\x1f');
  w->key += w->message().session_key;
  Napi::Promise p = w->promise();
  auto [it, first] = waiting_.try_emplace(w->key);
  if (first) w->Queue();
  else it->second.push_back(w);
  return p;
}

void EngineWrap::TurnDone(const std::string& key) {
  auto it = waiting_.find(key);
  if (it == waiting_.end()) return;
  if (it->second.empty()) {
    waiting_.erase(it);
    return;
  }
  HandleWorker* next = it->second.front();
  it->second.pop_front();
  next->Queue();
}

// setup(ModelpinError, makeOutcome, makeSession), called once by index.js.
Napi::Value Setup(const Napi::CallbackInfo& info) {
  for (size_t i = 0; i < 3; ++i)
    if (i >= info.Length() || !info[i].IsFunction()) throw Napi::TypeError::New(info.Env(), "setup expects three functions");
  auto* data = info.Env().GetInstanceData<AddonData>();
  data->error_class = Napi::Persistent(info[0].As<Napi::Function>());
  data->make_outcome = Napi::Persistent(info[1].As<Napi::Function>());
  data->make_session = Napi::Persistent(info[2].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData(data);
  Napi::Function engine = EngineWrap::Define(env);
  data->engine_class = Napi::Persistent(engine);
  exports.Set("Engine", engine);
  exports.Set("setup", Napi::Function::New(env, Setup));
  return exports;
}

}  // namespace
}  // namespace modelpin::node

static Napi::Object InitModelpin(Napi::Env env, Napi::Object exports) { return modelpin::node::Init(env, exports); }
NODE_API_MODULE(modelpin, InitModelpin)
