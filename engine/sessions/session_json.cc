// A session state as JSON: the storage form every store keeps, the oracle's fields, the
// "modelpin" object.
#include <modelpin/engine/sessions/session_state.h>

#include <string>
#include <vector>

#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {

namespace {


using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteString(JsonWriter& w, std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }

void WriteSelection(JsonWriter& w, const PinSelection& sel) {
  w.StartObject();
  auto field = [&](const char* name, const std::optional<std::string>& v) {
    if (!v) return;
    w.Key(name);
    WriteString(w, *v);
  };
  field("provider", sel.provider);
  field("model", sel.model);
  field("modelSource", sel.model_source);
  field("routeResolution", sel.route_resolution);
  field("profile", sel.profile);
  field("profileSource", sel.profile_source);
  w.EndObject();
}

const char* ScopeKindName(PinScope::Kind k) {
  switch (k) {
    case PinScope::Kind::kOnce: return "once";
    case PinScope::Kind::kTurns: return "turns";
    case PinScope::Kind::kFor: return "for";
  }
  return "once";
}

// The "modelpin" object: {"pinScope": {...}, "history": [...], "notice": "..."}.
// `expanded`: every event with its selections inline (for people and tools), not by index.
void WriteModelpin(JsonWriter& w, const ModelpinSessionData& m, bool expanded) {
  w.StartObject();
  if (m.scope) {
    w.Key("pinScope");
    w.StartObject();
    w.Key("kind");
    w.String(ScopeKindName(m.scope->kind));
    w.Key("setAt");
    w.Int64(m.scope->set_at_ms);
    if (m.scope->kind == PinScope::Kind::kFor) {
      w.Key("until");
      w.Int64(m.scope->until_ms);
    } else {
      w.Key("turnsLeft");
      w.Int(m.scope->turns_left);
    }
    w.Key("restore");
    WriteSelection(w, *m.scope->restore);
    w.EndObject();
  }
  if (!m.history.empty()) {
    // Each distinct selection once, in "selections"; events name them by index. A session's
    // history goes back and forth between a few selections, so this keeps a 50-event history
    // near 3 KB instead of 15 (every pin rewrites it on SQLite and Redis).
    std::vector<Interned<PinSelection>> table;
    std::vector<std::pair<int, int>> ids;  // each event's (from, to) in `table`
    auto index = [&](Interned<PinSelection> sel) {
      auto it = std::find(table.begin(), table.end(), sel);
      if (it != table.end()) return static_cast<int>(it - table.begin());
      table.push_back(sel);
      return static_cast<int>(table.size() - 1);
    };
    if (!expanded) {
      ids.reserve(m.history.size());
      for (const PinEvent& e : m.history) {
        const int from = index(e.from);  // first seen, first listed: `from` before `to`
        ids.emplace_back(from, index(e.to));
      }
      w.Key("selections");
      w.StartArray();
      for (const auto& sel : table) WriteSelection(w, *sel);
      w.EndArray();
    }
    w.Key("history");
    w.StartArray();
    for (size_t i = 0; i < m.history.size(); ++i) {
      const PinEvent& e = m.history[i];
      if (!expanded) {  // stored: [at, source, from, to(, scope)], selections by index
        w.StartArray();
        w.Int64(e.at_ms);
        WriteString(w, *e.source);
        w.Int(ids[i].first);
        w.Int(ids[i].second);
        if (!e.scope->empty()) WriteString(w, *e.scope);
        w.EndArray();
        continue;
      }
      w.StartObject();
      w.Key("at");
      w.Int64(e.at_ms);
      w.Key("source");
      WriteString(w, *e.source);
      w.Key("from");
      WriteSelection(w, *e.from);
      w.Key("to");
      WriteSelection(w, *e.to);
      if (!e.scope->empty()) {
        w.Key("scope");
        WriteString(w, *e.scope);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

std::string Serialize(const SessionState& s, bool include_private) {
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  w.StartObject();
  auto emit = [&](const char* name, const auto& value) {
    using T = std::decay_t<decltype(value)>;
    w.Key(name);
    if constexpr (std::is_same_v<T, std::string>) w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    else if constexpr (std::is_same_v<T, bool>) w.Bool(value);
    else w.Int(value);
  };
  VisitOracleFields(s, emit);
  if (include_private && s.thinking_level) emit("thinkingLevel", *s.thinking_level);
  if (include_private && !s.plugin_state.empty()) {
    w.Key("plugins");
    w.StartObject();
    for (const auto& [k, v] : s.plugin_state) {
      w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
  }
  if (include_private && !s.modelpin.empty()) {
    w.Key("modelpin");
    WriteModelpin(w, *s.modelpin, false);
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// Sets `out` to the string member `name` of object `v`; a missing or non-string member leaves it.
void ReadString(const rapidjson::Value& v, const char* name, std::optional<std::string>& out) {
  auto it = v.FindMember(name);
  if (it != v.MemberEnd() && it->value.IsString()) out = std::string(it->value.GetString(), it->value.GetStringLength());
}

PinSelection ReadSelection(const rapidjson::Value& v) {
  PinSelection sel;
  if (!v.IsObject()) return sel;
  auto str = [&](const char* name, std::optional<std::string>& out) { ReadString(v, name, out); };
  str("provider", sel.provider);
  str("model", sel.model);
  str("modelSource", sel.model_source);
  str("routeResolution", sel.route_resolution);
  str("profile", sel.profile);
  str("profileSource", sel.profile_source);
  return sel;
}

// Reads the "modelpin" object; members of the wrong type are skipped (a newer modelpin may add
// its own), as OpenClaw's own fields are.
ModelpinData ReadModelpin(const rapidjson::Value& v) {
  ModelpinData m;
  if (auto it = v.FindMember("pinScope"); it != v.MemberEnd() && it->value.IsObject()) {
    const auto& o = it->value;
    PinScope sc;
    auto kind = o.FindMember("kind");
    std::string k = kind != o.MemberEnd() && kind->value.IsString() ? kind->value.GetString() : "";
    bool ok = true;
    if (k == "once") sc.kind = PinScope::Kind::kOnce;
    else if (k == "turns") sc.kind = PinScope::Kind::kTurns;
    else if (k == "for") sc.kind = PinScope::Kind::kFor;
    else ok = false;
    if (auto x = o.FindMember("setAt"); x != o.MemberEnd() && x->value.IsInt64()) sc.set_at_ms = x->value.GetInt64();
    if (auto x = o.FindMember("until"); x != o.MemberEnd() && x->value.IsInt64()) sc.until_ms = x->value.GetInt64();
    if (auto x = o.FindMember("turnsLeft"); x != o.MemberEnd() && x->value.IsInt()) sc.turns_left = x->value.GetInt();
    if (auto x = o.FindMember("restore"); x != o.MemberEnd()) sc.restore = Interned(ReadSelection(x->value));
    if (ok) m.SetScope(sc);
  }
  // "from"/"to" index "selections" (older stores wrote the selection objects inline).
  std::vector<Interned<PinSelection>> table;
  if (auto it = v.FindMember("selections"); it != v.MemberEnd() && it->value.IsArray())
    for (const auto& sel : it->value.GetArray()) table.push_back(Interned(ReadSelection(sel)));
  auto selection = [&](const rapidjson::Value& x) {
    if (x.IsObject()) return Interned(ReadSelection(x));
    if (x.IsUint() && x.GetUint() < table.size()) return table[x.GetUint()];
    return Interned<PinSelection>();
  };
  std::vector<PinEvent> events;
  auto name_of = [](const rapidjson::Value& x, Interned<std::string>& out) {
    if (x.IsString()) out = Interned(std::string(x.GetString(), x.GetStringLength()));
  };
  if (auto it = v.FindMember("history"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& e : it->value.GetArray()) {
      PinEvent ev;
      if (e.IsArray() && e.Size() >= 4) {  // [at, source, from, to(, scope)]
        if (e[0].IsInt64()) ev.at_ms = e[0].GetInt64();
        name_of(e[1], ev.source);
        ev.from = selection(e[2]);
        ev.to = selection(e[3]);
        if (e.Size() > 4) name_of(e[4], ev.scope);
        events.push_back(ev);
        continue;
      }
      if (!e.IsObject()) continue;
      if (auto x = e.FindMember("at"); x != e.MemberEnd() && x->value.IsInt64()) ev.at_ms = x->value.GetInt64();
      auto name = [&](const char* key, Interned<std::string>& out) {
        if (auto x = e.FindMember(key); x != e.MemberEnd()) name_of(x->value, out);
      };
      name("source", ev.source);
      if (auto x = e.FindMember("from"); x != e.MemberEnd()) ev.from = selection(x->value);
      if (auto x = e.FindMember("to"); x != e.MemberEnd()) ev.to = selection(x->value);
      name("scope", ev.scope);
      events.push_back(ev);
    }
  }
  m.AppendAll(events.data(), events.size());  // the oldest beyond the cap are dropped
  return m;
}

}  // namespace

std::string SessionState::OracleJson() const { return Serialize(*this, false); }
std::string SessionState::StorageJson() const { return Serialize(*this, true); }

std::string SessionState::ModelpinJson(bool expanded) const {
  if (modelpin.empty()) return "";
  rapidjson::StringBuffer sb;
  JsonWriter w(sb);
  WriteModelpin(w, *modelpin, expanded);
  return std::string(sb.GetString(), sb.GetSize());
}

absl::StatusOr<SessionState> SessionState::FromStorageJson(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject()) return absl::DataLossError("session entry is not a JSON object");
  SessionState s;
  auto str = [&](const char* name, std::optional<std::string>& out) { ReadString(d, name, out); };
  str("providerOverride", s.provider_override);
  str("modelOverride", s.model_override);
  str("modelOverrideSource", s.model_override_source);
  str("modelOverrideRouteResolution", s.model_override_route_resolution);
  str("authProfileOverride", s.auth_profile_override);
  str("authProfileOverrideSource", s.auth_profile_override_source);
  str("agentRuntimeOverride", s.agent_runtime_override);
  str("thinkingLevel", s.thinking_level);
  if (auto it = d.FindMember("authProfileOverrideCompactionCount"); it != d.MemberEnd() && it->value.IsInt())
    s.auth_profile_override_compaction_count = it->value.GetInt();
  if (auto it = d.FindMember("plugins"); it != d.MemberEnd() && it->value.IsObject())
    for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m)
      if (m->value.IsString()) s.plugin_state[m->name.GetString()] = m->value.GetString();
  if (auto it = d.FindMember("liveModelSwitchPending"); it != d.MemberEnd() && it->value.IsBool())
    s.live_model_switch_pending = it->value.GetBool();
  if (auto it = d.FindMember("modelpin"); it != d.MemberEnd() && it->value.IsObject()) {
    ModelpinData m = ReadModelpin(it->value);
    if (!m.empty()) s.modelpin = std::move(m);
  }
  return s;
}

}  // namespace modelpin
