#include <modelpin/service/api.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstring>
#include <type_traits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include <modelpin/base/absl_view.h>
#include <modelpin/base/clock.h>
#include <modelpin/base/json_text.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/engine/auth/auth_order.h>
#include <modelpin/engine/auth/rotation.h>
#include <modelpin/engine/auth/profile_json.h>
#include <modelpin/engine/config/usage.h>
#include <modelpin/engine/config/usage_json.h>
#include <modelpin/plugins/model/explain.h>
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::service {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// An answer's JSON: written into a per-thread buffer (rapidjson's own, whose writes are the
// fastest it has), copied into the response body at the end unless the handler failed meanwhile
// (Fail has then set the error body).
class JsonOut {
 public:
  explicit JsonOut(Response& r) : r_(r), w(Cleared()) {}
  ~JsonOut() {
    if (r_.status < 400) r_.body.assign(Buffer().GetString(), Buffer().GetSize());
  }

 private:
  static rapidjson::StringBuffer& Buffer() {
    thread_local rapidjson::StringBuffer buf;
    return buf;
  }
  static rapidjson::StringBuffer& Cleared() {
    Buffer().Clear();
    return Buffer();
  }
  Response& r_;

 public:
  Writer w;
};

// A string as valid UTF-8 (engine/auth/profile_json.h).
void Str(Writer& w, std::string_view s) { WriteJsonText(w, s); }
void StrList(Writer& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const auto& s : list) Str(w, s);
  w.EndArray();
}
// Opens an answer's object with its "agentId"; the caller writes the other members and ends it.
Writer& StartAgentObject(JsonOut& json, std::string_view agent) {
  json.w.StartObject();
  json.w.Key("agentId");
  Str(json.w, agent);
  return json.w;
}

void Fail(Response& r, int status, std::string_view message) {
  r.status = status;
  r.content_type = "application/json";
  r.body = ErrorJson(status, message);
}
void Fail(Response& r, const absl::Status& status) {
  Fail(r, HttpStatus(status), std::string_view(status.message().data(), status.message().size()));
}

// A request body: one JSON object whose members are checked by name and type. Every error names
// the JSON path ("$.text: expected a string") or the offset of a syntax error.
class Body {
 public:
  Body() : pool_(buffer_, sizeof buffer_), stack_(stack_buffer_, sizeof stack_buffer_), doc_(&pool_, 1024, &stack_) {}

  // False with `error` set when the body is not one JSON object, or names a member not in
  // `known` (a typo is an error, not a silently ignored field).
  bool Parse(std::string_view body, std::initializer_list<std::string_view> known) {
    if (body.empty()) {
      error_ = "body: expected a JSON object, got an empty body";
      return false;
    }
    doc_.Parse(body.data(), body.size());
    if (doc_.HasParseError()) {
      error_ = absl::StrCat("body: invalid JSON at offset ", doc_.GetErrorOffset(), ": ",
                            rapidjson::GetParseError_En(doc_.GetParseError()));
      return false;
    }
    if (!doc_.IsObject()) {
      error_ = "$: expected a JSON object";
      return false;
    }
    for (auto it = doc_.MemberBegin(); it != doc_.MemberEnd(); ++it) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        error_ = absl::StrCat("$.", text::EchoSafe(name), ": unknown field");
        return false;
      }
    }
    return true;
  }

  // The string member `name` into `out` ("" when absent or null). False on another type.
  bool String(const char* name, std::string& out, bool required = false) {
    auto it = doc_.FindMember(name);
    if (it == doc_.MemberEnd() || it->value.IsNull()) {
      out.clear();
      if (required) error_ = absl::StrCat("$.", name, ": required");
      return !required;
    }
    if (!it->value.IsString()) {
      error_ = absl::StrCat("$.", name, ": expected a string");
      return false;
    }
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  }
  bool Int(const char* name, int64_t& out, int64_t min, int64_t max) {
    auto it = doc_.FindMember(name);
    if (it == doc_.MemberEnd() || it->value.IsNull()) return true;
    if (!it->value.IsInt64() || it->value.GetInt64() < min || it->value.GetInt64() > max) {
      error_ = absl::StrCat("$.", name, ": expected an integer from ", min, " to ", max);
      return false;
    }
    out = it->value.GetInt64();
    return true;
  }
  // The provider's reported quota (POST /v1/outcome "limits"): {"requests": {"limit", "remaining",
  // "resetAt"}, "tokens", "inputTokens", "outputTokens"}; absent or null leaves `out` unset.
  bool Limits(const char* name, std::optional<ProviderLimits>& out) {
    auto it = doc_.FindMember(name);
    if (it == doc_.MemberEnd() || it->value.IsNull()) return true;
    if (!it->value.IsObject()) {
      error_ = absl::StrCat("$.", name, ": expected an object");
      return false;
    }
    ProviderLimits l;
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
      std::string_view key(m->name.GetString(), m->name.GetStringLength());
      QuotaWindow* w = key == "requests"       ? &l.requests
                       : key == "tokens"       ? &l.tokens
                       : key == "inputTokens"  ? &l.input_tokens
                       : key == "outputTokens" ? &l.output_tokens
                                               : nullptr;
      const std::string at = absl::StrCat("$.", name, ".", text::EchoSafe(key));
      if (w == nullptr) {
        error_ = absl::StrCat(at, ": unknown field (expected requests, tokens, inputTokens or outputTokens)");
        return false;
      }
      if (!m->value.IsObject()) {
        error_ = absl::StrCat(at, ": expected an object {limit, remaining, resetAt}");
        return false;
      }
      for (auto f = m->value.MemberBegin(); f != m->value.MemberEnd(); ++f) {
        std::string_view field(f->name.GetString(), f->name.GetStringLength());
        int64_t* slot = field == "limit" ? &w->limit : field == "remaining" ? &w->remaining
                        : field == "resetAt" ? &w->reset_at : nullptr;
        if (slot == nullptr) {
          error_ = absl::StrCat(at, ".", text::EchoSafe(field), ": unknown field (expected limit, remaining, resetAt)");
          return false;
        }
        if (!f->value.IsInt64() || f->value.GetInt64() < 0) {
          error_ = absl::StrCat(at, ".", std::string(field), ": expected a whole number >= 0");
          return false;
        }
        *slot = f->value.GetInt64();
      }
      if (!w->known() || w->remaining > w->limit) {
        error_ = absl::StrCat(at, ": expected limit > 0 and remaining from 0 to limit");
        return false;
      }
    }
    if (!l.empty()) out = l;
    return true;
  }
  bool StringList(const char* name, std::vector<std::string>& out) {
    auto it = doc_.FindMember(name);
    if (it == doc_.MemberEnd() || !it->value.IsArray()) {
      error_ = absl::StrCat("$.", name, it == doc_.MemberEnd() ? ": required" : ": expected an array of strings");
      return false;
    }
    out.clear();
    for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
      const auto& v = it->value[i];
      if (!v.IsString()) {
        error_ = absl::StrCat("$.", name, "[", i, "]: expected a string");
        return false;
      }
      out.emplace_back(v.GetString(), v.GetStringLength());
    }
    return true;
  }
  const std::string& error() const { return error_; }

 private:
  char buffer_[4096];
  char stack_buffer_[1024];
  rapidjson::MemoryPoolAllocator<> pool_;
  rapidjson::MemoryPoolAllocator<> stack_;
  rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>, rapidjson::MemoryPoolAllocator<>> doc_;
  std::string error_;
};

// A profile's health as members of the open object (engine/auth/profile_json.h).
void WriteHealth(Writer& w, const ProfileHealth& h) { WriteHealthJsonMembers(w, h, /*probes_and_quota=*/true); }

// A session entry as stored ({} when nothing is): sessions list and show.
void WriteSession(Writer& w, const SessionState& s) {
  if (s.empty()) {
    w.StartObject();
    w.EndObject();
    return;
  }
  std::string entry = s.StorageJson();
  w.RawValue(entry.data(), entry.size(), rapidjson::kObjectType);
}

// The agent a request names (query `agent` or the body's), checked as the CLI's --agent.
bool Agent(const Engine& e, const std::string& requested, std::string& agent, Response& r) {
  auto known = KnownAgent(e, requested);
  if (!known.ok()) {
    Fail(r, known.status());
    return false;
  }
  agent = *known;
  return true;
}

std::string AgentDir(const Engine& e, const std::string& agent) {
  std::string own = e.OwnAuthStorePath(agent);
  size_t slash = own.rfind('/');
  return Engine::DisplayPath(slash == std::string::npos ? own : own.substr(0, slash));
}

// ---- the routes ---------------------------------------------------------------------------------

using namespace std::string_view_literals;  // "..."sv: appended without a strlen

// ---- POST /v1/turn, the hot path: its answer is appended by hand (constant keys as literals,
// strings escaped in one pass), several times cheaper than a generic writer. The fuzzer checks
// that every answer parses.

// `s` as a JSON string (base/json_text.h): valid UTF-8 (other bytes replaced), '"', '\\' and
// control characters escaped.
void AppendString(std::string& out, std::string_view s) { AppendJsonString(&out, s); }
void AppendStringOrNull(std::string& out, std::string_view s) {
  if (s.empty()) out += "null"sv;
  else AppendString(out, s);
}
// `list` as a JSON array, each element appended by `element(item)`.
template <typename List, typename Element>
void AppendArray(std::string& out, const List& list, Element element) {
  out.push_back('[');
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out.push_back(',');
    element(list[i]);
  }
  out.push_back(']');
}
void AppendList(std::string& out, const std::vector<std::string>& list) {
  AppendArray(out, list, [&](const std::string& s) { AppendString(out, s); });
}
void AppendLabel(std::string& out, const ModelRef& m) {
  thread_local std::string label;
  label.assign(m.provider).append("/").append(m.model);
  AppendString(out, label);
}

void AppendRoute(std::string& out, const Route& r) {
  out += "{\"text\":"sv;
  AppendString(out, r.text);
  out += ",\"model\":"sv;
  AppendLabel(out, r.model);
  out += ",\"provider\":"sv;
  AppendString(out, r.model.provider);
  out += ",\"profiles\":"sv;
  AppendList(out, r.profiles);
  out += ",\"thinking\":"sv;
  AppendStringOrNull(out, r.thinking);
  out += ",\"fallbackFrom\":"sv;
  if (r.fallback_from.empty()) out += "null"sv;
  else AppendLabel(out, r.fallback_from);
  out += ",\"fallbackReason\":"sv;
  AppendStringOrNull(out, r.fallback_reason);
  out += ",\"plan\":"sv;
  AppendArray(out, r.plan, [&](const auto& step) {
    out += "{\"model\":"sv;
    AppendLabel(out, step.model);
    out += ",\"profiles\":"sv;
    AppendList(out, step.profiles);
    out.push_back('}');
  });
  out += ",\"rule\":"sv;
  AppendStringOrNull(out, r.rule);
  out.push_back('}');
}

// A turn's session: its fields under OpenClaw's names, thinkingLevel and the other command
// families' "plugins" fields; modelpin's pin history is left to GET /v1/sessions/{key}.
void AppendTurnSession(std::string& out, const SessionState& s) {
  out.push_back('{');
  bool first = true;
  auto key = [&](std::string_view name) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out.append(name);
    out += "\":"sv;
  };
  VisitOracleFields(s, [&](const char* name, const auto& value) {
    key(name);
    using T = std::decay_t<decltype(value)>;
    if constexpr (std::is_same_v<T, bool>) out += value ? "true" : "false";
    else if constexpr (std::is_same_v<T, int>) out += std::to_string(value);
    else AppendString(out, value);
  });
  if (s.thinking_level) {
    key("thinkingLevel");
    AppendString(out, *s.thinking_level);
  }
  if (!s.plugin_state.empty()) {
    key("plugins");
    out.push_back('{');
    bool first_field = true;
    for (const auto& [k, v] : s.plugin_state) {
      if (!first_field) out.push_back(',');
      first_field = false;
      AppendString(out, k);
      out.push_back(':');
      AppendString(out, v);
    }
    out.push_back('}');
  }
  out.push_back('}');
}

// The message of POST /v1/turn and POST /v1/chat: {agent, session, sender, text, channel,
// chat_type}. False (with the 400 written) when the body is not that.
bool ReadMessage(const Request& req, InboundMessage& msg, Response& r) {
  Body body;
  if (!body.Parse(req.body, {"agent", "session", "sender", "text", "channel", "chat_type"}) ||
      !body.String("agent", msg.agent_id) || !body.String("session", msg.session_key) ||
      !body.String("sender", msg.sender) || !body.String("text", msg.text, /*required=*/true) ||
      !body.String("channel", msg.channel) || !body.String("chat_type", msg.chat_type)) {
    Fail(r, 400, body.error());
    return false;
  }
  return true;
}

// What the turn and the chat answers start with: {"agentId", "sessionKey", "replies", "route"
// (the object is left open for the caller's members).
void AppendOutcomeHead(std::string& o, const Outcome& out) {
  o += "{\"agentId\":"sv;
  AppendString(o, out.agent_id);
  o += ",\"sessionKey\":"sv;
  AppendString(o, out.session_key);
  o += ",\"replies\":"sv;
  AppendArray(o, out.replies, [&](const auto& reply) {
    o += "{\"text\":"sv;
    AppendString(o, reply.text);
    o += reply.is_error ? ",\"isError\":true}" : ",\"isError\":false}";
  });
  o += ",\"route\":"sv;
  if (out.route) AppendRoute(o, *out.route);
  else o += "null"sv;
}

// `sink`: where the outcome goes (the caller records it); nullptr: a buffer of this thread.
void Turn(Engine& e, const Request& req, Response& r, Outcome* sink) {
  thread_local InboundMessage msg;
  thread_local Outcome local;
  Outcome& out = sink ? *sink : local;
  if (!ReadMessage(req, msg, r)) return;
  if (absl::Status st = e.Handle(msg, out); !st.ok()) return Fail(r, st);
  std::string& o = r.body;
  o.clear();
  AppendOutcomeHead(o, out);
  o += ",\"session\":"sv;
  AppendTurnSession(o, out.session);
  o.push_back('}');
}

// The report and the agent, for the caller's records, when it answers 200.
void ReportOutcome(Engine& e, const Request& req, Response& r, CallReport* reported, std::string* reported_agent) {
  Body body;
  std::string agent_req, session, error = "ok";
  CallReport report;
  // Token counts (docs/usage-and-budgets.md): any of them present makes the call's usage.
  int64_t tokens[4] = {-1, -1, -1, -1};
  constexpr const char* kTokenKeys[4] = {"inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"};
  if (!body.Parse(req.body, {"agent", "session", "profile", "error", "retryAfterMs", "model", "billedModel",
                             "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "limits"}) ||
      !body.String("agent", agent_req) || !body.String("session", session) ||
      !body.String("profile", report.profile_id, /*required=*/true) || !body.String("error", error) ||
      !body.Int("retryAfterMs", report.retry_after_ms, 0, int64_t{1} << 40) || !body.String("model", report.model) ||
      !body.String("billedModel", report.billed_model) || !body.Limits("limits", report.limits))
    return Fail(r, 400, body.error());
  for (int i = 0; i < 4; ++i)
    if (!body.Int(kTokenKeys[i], tokens[i], 0, int64_t{1} << 40)) return Fail(r, 400, body.error());
  if (tokens[0] >= 0 || tokens[1] >= 0 || tokens[2] >= 0 || tokens[3] >= 0)
    report.usage = TokenUsage{std::max<int64_t>(tokens[0], 0), std::max<int64_t>(tokens[1], 0),
                              std::max<int64_t>(tokens[2], 0), std::max<int64_t>(tokens[3], 0)};
  if (error.empty()) error = "ok";
  auto cls = ParseErrorClass(error);
  if (!cls)
    return Fail(r, 400, "$.error: expected one of ok, rate_limit, overloaded, auth, billing, timeout, server_error, "
                        "model_not_found");
  report.error = *cls;
  std::string agent;
  if (!Agent(e, agent_req, agent, r)) return;
  if (absl::Status st = e.ReportOutcome(agent, session, report); !st.ok()) return Fail(r, st);
  if (reported) *reported = report;
  if (reported_agent) *reported_agent = agent;
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("profile");
  Str(w, report.profile_id);
  w.Key("error");
  Str(w, ErrorClassName(report.error));
  // The profile's health after the report, when it is a saved profile.
  auto store = e.Auth(agent);
  const Credential* c = store.ok() ? (*store)->Find(report.profile_id) : nullptr;
  w.Key("health");
  if (c) {
    w.StartObject();
    WriteHealth(w, CredentialHealth(*c, **store, e.NowMs()));
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
}

// One window's (or the totals') counters of a profile's usage (docs/usage-and-budgets.md);
// `window` ("1d"), when given, is written first as "window".
void WriteUsageCounts(Writer& w, const UsageCounts& c, std::string_view window = {}) {
  WriteUsageCountsJson(w, c, window);
}

// GET /v1/usage?agent=&provider=&window=: calls, tokens and cost per profile.
void UsageRoute(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  const std::string provider = text::ToLower(text::Trim(req.Query("provider")));
  std::optional<UsageWindow> only;
  if (std::string window(text::Trim(req.Query("window"))); !window.empty()) {
    only = ParseUsageWindow(window);
    if (!only) return Fail(r, 400, "window: expected 5h, 1d, 7d or 30d");
  }
  auto store = e.Auth(agent);
  if (!store.ok()) return Fail(r, store.status());
  const int64_t now = e.NowMs();
  JsonOut json(r);
  WriteUsageReportJson(json.w, agent, **store, now,
                       [&](const Credential& c) { return OfAuthProvider(c, provider); }, {only});
}

void Profiles(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  const std::string provider = text::ToLower(text::Trim(req.Query("provider")));
  auto store = e.Auth(agent);
  if (!store.ok()) return Fail(r, store.status());
  const int64_t now = e.NowMs();
  const MaskingMode mode = e.config().masking();
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("authStatePath");
  Str(w, Engine::DisplayPath((*store)->path()));
  w.Key("profiles");
  w.StartArray();
  for (const auto& c : (*store)->profiles()) {
    if (!OfAuthProvider(c, provider)) continue;
    StartProfileJson(w, c);
    w.Key("type");
    Str(w, c.type);
    w.Key("secret");
    Str(w, MaskedCredential(c, mode, CredentialLabel::kSecretOnly));
    w.Key("expires");
    if (c.expires) Str(w, FormatUtc(*c.expires));
    else w.Null();
    WriteHealth(w, CredentialHealth(c, **store, now));
    // Models of the profile cooling down on their own.
    w.Key("modelCooldowns");
    w.StartArray();
    UsageStats u = (*store)->Usage(c.id);
    for (const auto& [model, until] : u.model_cooldowns) {
      if (until <= now) continue;
      w.StartObject();
      w.Key("model");
      Str(w, model);
      w.Key("until");
      Str(w, FormatUtc(until));
      w.EndObject();
    }
    w.EndArray();
    // When it last answered, and whether it is the provider's last good profile.
    w.Key("lastUsed");
    if (u.last_used) Str(w, FormatUtc(u.last_used));
    else w.Null();
    const std::string* good = (*store)->LastGood(AuthProvider(c.provider));
    w.Key("lastGood");
    w.Bool(good != nullptr && *good == c.id);
    // What it used in the last day (the console's calls and cost columns; /v1/usage has the rest).
    w.Key("usage");
    WriteUsageCounts(w, InWindow(u.usage, UsageWindow::k1d, now), UsageWindowName(UsageWindow::k1d));
    w.EndObject();
  }
  w.EndArray();
  w.Key("environment");
  w.StartArray();
  for (const auto& c : e.env().all()) {
    if (!provider.empty() && AuthProvider(c.provider) != AuthProvider(provider)) continue;
    w.StartObject();
    w.Key("id");
    Str(w, c.ProfileId());
    w.Key("provider");
    Str(w, c.provider);
    w.Key("secret");
    Str(w, MaskedCredential(c, mode));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void ClearCooldownsRoute(Engine& e, const Request& req, Response& r) {
  Body body;
  std::string agent_req, id, provider;
  if (!body.Parse(req.body.empty() ? std::string_view("{}") : req.body, {"agent", "profile", "provider"}) ||
      !body.String("agent", agent_req) || !body.String("profile", id) || !body.String("provider", provider))
    return Fail(r, 400, body.error());
  id = std::string(text::Trim(id));
  provider = text::ToLower(text::Trim(provider));
  if (!id.empty() && !provider.empty()) return Fail(r, 400, "$.profile: give a profile or a provider, not both");
  std::string agent;
  if (!Agent(e, agent_req, agent, r)) return;
  auto cleared = ClearCooldowns(e, agent, id, provider, AgentDir(e, agent));
  if (!cleared.ok()) return Fail(r, cleared.status());
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("cleared");
  StrList(w, *cleared);
  w.EndObject();
}

void WriteOrder(Engine& e, const std::string& agent, const std::string& provider, Response& r) {
  std::string effective = e.EffectiveAuthStorePath(agent);
  auto store = AuthStore::Load(effective);
  if (!store.ok()) return Fail(r, store.status());
  const std::vector<std::string>* order = store->Order(provider);
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("provider");
  Str(w, provider);
  w.Key("authStatePath");
  Str(w, Engine::DisplayPath(effective));
  w.Key("order");
  if (order) StrList(w, *order);
  else w.Null();
  w.Key("fallback");
  Str(w, OrderFallbackText(e.config(), provider));
  w.EndObject();
}

// The provider of an order route, or false after answering 400.
bool OrderProvider(const Request& req, std::string& provider, Response& r) {
  provider = text::ToLower(text::Trim(req.Param("provider")));
  if (provider.empty()) {
    Fail(r, 400, "provider: empty");
    return false;
  }
  return true;
}

void OrderGet(Engine& e, const Request& req, Response& r) {
  std::string provider, agent;
  if (!OrderProvider(req, provider, r) || !Agent(e, req.Query("agent"), agent, r)) return;
  WriteOrder(e, agent, provider, r);
}

void OrderSet(Engine& e, const Request& req, Response& r) {
  std::string provider, agent_req, agent;
  if (!OrderProvider(req, provider, r)) return;
  Body body;
  std::vector<std::string> raw;
  if (!body.Parse(req.body, {"agent", "profiles"}) || !body.String("agent", agent_req) ||
      !body.StringList("profiles", raw))
    return Fail(r, 400, body.error());
  std::vector<std::string> ids;
  for (const auto& s : raw) {
    std::string id(text::Trim(s));
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  if (ids.empty()) return Fail(r, 400, "$.profiles: expected at least one profile id");
  if (!Agent(e, agent_req, agent, r)) return;
  if (absl::Status st = RequireExplicitOwner(e.config(), agent_req); !st.ok()) return Fail(r, st);
  if (absl::Status st = SetAuthOrder(e, agent, provider, ids, AgentDir(e, agent)); !st.ok()) return Fail(r, st);
  WriteOrder(e, agent, provider, r);
}

void OrderClear(Engine& e, const Request& req, Response& r) {
  std::string provider, agent;
  const std::string agent_req = req.Query("agent");
  if (!OrderProvider(req, provider, r) || !Agent(e, agent_req, agent, r)) return;
  if (absl::Status st = RequireExplicitOwner(e.config(), agent_req); !st.ok()) return Fail(r, st);
  if (absl::Status st = ClearAuthOrder(e, agent, provider); !st.ok()) return Fail(r, st);
  WriteOrder(e, agent, provider, r);
}

void SessionsList(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  bool has_limit = false;
  std::string limit_text = req.Query("limit", &has_limit);
  int limit = 100;
  if (has_limit && (!absl::SimpleAtoi(limit_text, &limit) || limit < 1 || limit > 1000))
    return Fail(r, 400, "limit: expected an integer from 1 to 1000");
  const std::string after = req.Query("after");
  const std::string prefix = req.Query("prefix");
  auto keys = e.SessionKeys(agent);
  if (!keys.ok()) return Fail(r, keys.status());
  // Sorted keys: those with `prefix` are one run, from its lower bound.
  if (!prefix.empty())
    keys->erase(std::remove_if(keys->begin(), keys->end(), [&](const std::string& k) { return k.rfind(prefix, 0) != 0; }),
                keys->end());
  auto it = after.empty() ? keys->begin() : std::upper_bound(keys->begin(), keys->end(), after);
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("sessions");
  w.StartArray();
  int n = 0;
  std::string last;
  for (; it != keys->end() && n < limit; ++it, ++n) {
    auto s = e.Session(agent, *it);
    if (!s.ok()) {
      r.body.clear();
      return Fail(r, s.status());
    }
    w.StartObject();
    w.Key("key");
    Str(w, *it);
    w.Key("entry");
    WriteSession(w, *s);
    w.EndObject();
    last = *it;
  }
  w.EndArray();
  w.Key("next");
  if (it != keys->end()) Str(w, last);
  else w.Null();
  w.EndObject();
}

void SessionShow(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  const std::string& key = req.Param("key");
  auto s = e.Session(agent, key);
  if (!s.ok()) return Fail(r, s.status());
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("key");
  Str(w, key);
  w.Key("entry");
  WriteSession(w, *s);
  std::string history = s->ModelpinJson(/*expanded=*/true);
  w.Key("history");
  if (history.empty()) {
    w.StartObject();
    w.EndObject();
  } else {
    w.RawValue(history.data(), history.size(), rapidjson::kObjectType);
  }
  w.EndObject();
}

void SessionReset(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  const std::string& key = req.Param("key");
  if (absl::Status st = e.ResetSession(agent, key); !st.ok()) return Fail(r, st);
  JsonOut json(r);
  Writer& w = StartAgentObject(json, agent);
  w.Key("key");
  Str(w, key);
  w.Key("reset");
  w.Bool(true);
  w.EndObject();
}

void Explain(Engine& e, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  const std::string ref(text::Trim(req.Query("ref")));
  if (ref.empty()) return Fail(r, 400, "ref: required (a model reference, e.g. sonnet@anthropic:work)");
  std::string out;
  absl::Status st = e.Inspect(agent, req.Query("session"), [&](TurnContext& ctx) { out = model_plugin::ExplainJson(ctx, ref); });
  if (!st.ok()) return Fail(r, st);
  r.body = std::move(out);
}

}  // namespace

int HttpStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kAlreadyExists: return 409;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

// ---- the live side: metrics, events, the whole chat, the timeline --------------------------------

// The provider of a profile of `agent`: its credential's, else the id's part before ':'.
std::string ProviderOfProfile(Engine& e, const std::string& agent, const std::string& profile) {
  if (auto store = e.Auth(agent); store.ok())
    if (const Credential* c = (*store)->Find(profile)) return c->provider;
  size_t colon = profile.find(':');
  return profile.substr(0, colon == std::string::npos ? profile.size() : colon);
}

// How a turn answered, for the metrics: the outcome's kind, or an error.
void RecordTurn(Metrics& m, const Outcome* out, double seconds) {
  m.RecordTurn(out ? KindOf(*out) : TurnKind::kError, seconds);
  if (out && out->route && !out->route->profiles.empty())
    m.RecordRoute(out->agent_id, out->route->model.provider, out->route->profiles.front());
}

// GET /v1/events[?kinds=cooldown_started,profile_disabled]: one SSE frame per event, a comment
// every 15 s so proxies keep the connection, "missed N" when this reader fell behind.
void Events(const std::shared_ptr<EventHub>& hub, const Request& req, std::shared_ptr<Stream> stream) {
  std::vector<EventKind> kinds;
  for (const auto& piece : absl::StrSplit(req.Query("kinds"), ',', absl::SkipWhitespace())) {
    const std::string_view k = StdView(piece);
    EventKind kind;
    if (!ParseEventKind(k, kind)) {
      stream->Write(absl::StrCat("event: error\ndata: {\"error\":\"unknown event kind ", text::EchoSafe(k, 40),
                                 "\"}\n\n"));
      stream->Close();
      return;
    }
    kinds.push_back(kind);
  }
  auto sub = hub->Subscribe(std::move(kinds));
  if (!stream->Write(": modelpin events\n\n")) return;
  std::thread([sub, stream] {
    while (stream->open()) {
      auto item = sub->Next(std::chrono::seconds(15));
      if (!item) break;  // the hub closed (the service is draining)
      std::string frame = item->event ? SseFrame(*item->event)
                          : item->missed ? SseMissed(item->missed)
                                         : std::string(": keep-alive\n\n");
      if (!stream->Write(frame)) break;
    }
    sub->Close();
    stream->Close();
  }).detach();
}

// POST /v1/chat {agent, session, sender, text, channel, chat_type}: a whole message end to end.
void Chat(Engine& e, const ApiOptions& o, const Request& req, Response& r) {
  InboundMessage msg;
  if (!ReadMessage(req, msg, r)) return;
  ChatOptions chat = o.chat;
  const std::string agent = e.ResolveAgent(msg.agent_id);
  ModelRef first_model;
  chat.on_attempt = [&](const CallAttempt& a) {
    if (o.chat.on_attempt) o.chat.on_attempt(a);
    if (!a.answer.result) return;
    if (o.metrics) o.metrics->RecordOutcome(agent, a.model.provider, a.profile, *a.answer.result);
    if (o.activity) o.activity->Call(agent, e.NowMs(), a.profile, a.model.Label(), *a.answer.result);
  };
  auto t0 = std::chrono::steady_clock::now();
  auto result = ChatThroughRoute(e, msg, chat);
  if (o.metrics)
    RecordTurn(*o.metrics, result.ok() ? &result->outcome : nullptr,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (!result.ok()) return Fail(r, result.status());
  const Outcome& out = result->outcome;
  std::string& j = r.body;
  j.clear();
  AppendOutcomeHead(j, out);
  j += ",\"answer\":";
  if (result->answer) AppendString(j, *result->answer);
  else j += "null";
  j += ",\"answeredBy\":";
  if (result->answered_profile.empty()) {
    j += "null";
  } else {
    j += "{\"model\":";
    AppendLabel(j, result->answered_by);
    j += ",\"profile\":";
    AppendString(j, result->answered_profile);
    j.push_back('}');
  }
  j += ",\"failure\":";
  AppendStringOrNull(j, result->failure);
  j += ",\"attempts\":";
  AppendArray(j, result->attempts, [&](const CallAttempt& a) {
    j += "{\"model\":";
    AppendLabel(j, a.model);
    j += ",\"profile\":";
    AppendString(j, a.profile);
    j += ",\"httpStatus\":";
    j += std::to_string(a.answer.http_status);
    j += ",\"result\":";
    if (a.answer.result) AppendString(j, ErrorClassName(*a.answer.result));
    else j += "null";
    j += ",\"error\":";
    AppendStringOrNull(j, a.answer.error);
    j.push_back('}');
  });
  j += ",\"session\":";
  AppendTurnSession(j, out.session);
  j.push_back('}');
}

// GET /v1/timeline?since=1h|1d|<duration>&agent=&provider=: the rotation picture of what this
// service saw (service/activity.h), as SVG.
void TimelineRoute(Engine& e, const Activity& activity, const Request& req, Response& r) {
  std::string agent;
  if (!Agent(e, req.Query("agent"), agent, r)) return;
  std::string since = req.Query("since");
  if (since.empty()) since = "1h";
  auto span = ParseDurationMs(since);
  if (!span) return Fail(r, 400, "since: expected a duration such as 1h, 30m or 1d");
  const std::string provider = text::ToLower(text::Trim(req.Query("provider")));
  const int64_t now = e.NowMs();
  r.content_type = "image/svg+xml";
  r.body = activity.Svg(agent, provider, now - *span, now,
                        absl::StrCat("Rotation of agent ", agent, provider.empty() ? "" : ", " + provider, ", last ", since));
}

void RegisterApi(Router& router, Engine& engine, ApiOptions options) {
  Engine* e = &engine;
  auto o = std::make_shared<const ApiOptions>(std::move(options));
  if (o->metrics) {
    router.Add("POST", "/v1/turn", Access::kWrite, [e, o](const Request& q, Response& r) {
      auto t0 = std::chrono::steady_clock::now();
      thread_local Outcome out;
      Turn(*e, q, r, &out);
      RecordTurn(*o->metrics, r.status == 200 ? &out : nullptr,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    });
  } else {
    router.Add("POST", "/v1/turn", Access::kWrite, [e](const Request& q, Response& r) { Turn(*e, q, r, nullptr); });
  }
  router.Add("POST", "/v1/outcome", Access::kWrite, [e, o](const Request& q, Response& r) {
    CallReport report;
    std::string agent;
    ReportOutcome(*e, q, r, &report, &agent);
    if (r.status != 200) return;
    if (o->metrics) o->metrics->RecordOutcome(agent, ProviderOfProfile(*e, agent, report.profile_id), report.profile_id, report.error);
    if (o->activity) o->activity->Call(agent, e->NowMs(), report.profile_id, report.model, report.error);
  });
  router.Add("POST", "/v1/chat", Access::kWrite, [e, o](const Request& q, Response& r) { Chat(*e, *o, q, r); });
  if (o->metrics)
    router.Add("GET", "/metrics", Access::kProbe, [e, o](const Request&, Response& r) {
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      r.body = o->metrics->Expose(ProfileGauges(*e), ProfileUsageGauges(*e));
    });
  if (o->events)
    router.AddStream("GET", "/v1/events", Access::kRead,
                     [o](const Request& q, std::shared_ptr<Stream> s) { Events(o->events, q, std::move(s)); });
  if (o->activity)
    router.Add("GET", "/v1/timeline", Access::kRead,
               [e, o](const Request& q, Response& r) { TimelineRoute(*e, *o->activity, q, r); });
  router.Add("GET", "/v1/profiles", Access::kRead, [e](const Request& q, Response& r) { Profiles(*e, q, r); });
  router.Add("GET", "/v1/usage", Access::kRead, [e](const Request& q, Response& r) { UsageRoute(*e, q, r); });
  router.Add("POST", "/v1/cooldowns/clear", Access::kWrite,
             [e](const Request& q, Response& r) { ClearCooldownsRoute(*e, q, r); });
  router.Add("GET", "/v1/order/{provider}", Access::kRead, [e](const Request& q, Response& r) { OrderGet(*e, q, r); });
  router.Add("PUT", "/v1/order/{provider}", Access::kWrite, [e](const Request& q, Response& r) { OrderSet(*e, q, r); });
  router.Add("DELETE", "/v1/order/{provider}", Access::kWrite,
             [e](const Request& q, Response& r) { OrderClear(*e, q, r); });
  router.Add("GET", "/v1/sessions", Access::kRead, [e](const Request& q, Response& r) { SessionsList(*e, q, r); });
  router.Add("GET", "/v1/sessions/{key}", Access::kRead, [e](const Request& q, Response& r) { SessionShow(*e, q, r); });
  router.Add("DELETE", "/v1/sessions/{key}", Access::kWrite,
             [e](const Request& q, Response& r) { SessionReset(*e, q, r); });
  router.Add("GET", "/v1/explain", Access::kRead, [e](const Request& q, Response& r) { Explain(*e, q, r); });
  router.Add("GET", "/healthz", Access::kProbe, [](const Request&, Response& r) { r.body = R"({"status":"ok"})"; });
  router.Add("GET", "/readyz", Access::kProbe, [e](const Request&, Response& r) {
    if (absl::Status st = e->CheckStores(); !st.ok()) return Fail(r, 503, absl::StrCat("not ready: ", st.message()));
    r.body = R"({"status":"ready"})";
  });
  if (options.bench_floor)
    router.AddHidden("POST", "/bench/floor", Access::kWrite, [](const Request&, Response& r) { r.body = R"({"ok":true})"; });
}

}  // namespace modelpin::service
