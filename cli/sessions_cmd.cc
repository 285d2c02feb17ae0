// `modelpin sessions list|show|reset`: what the session store (SQLite or the shared Redis of
// `modelpin.store`) holds, for operators.
#include <iostream>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/cli/cli.h>
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/redis_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {
namespace {

constexpr const char* kSessionsHelp = R"(usage: modelpin sessions list [--json]
       modelpin sessions show KEY [--json]
       modelpin sessions history KEY [--json]
       modelpin sessions reset KEY
                [--agent ID] [--config FILE] [--state DIR]

Reads the agent's sessions where the bot keeps them: config modelpin.store (redis://... or
unix://...), else <state>/sessions.sqlite.

  list         every session key of the agent, with its model and auth pin
  show KEY     the session's stored fields, under OpenClaw's names
  history KEY  every recorded change of the session's model, provider or auth profile pin
               (at most the last 50), oldest first: when, by what (user, auto, reset, expiry,
               order, undo, invalid, plugin), from and to; and an active scoped pin
  reset KEY    deletes the session's entry: its next message starts from the defaults
  --json       JSON instead of text (list: an array; show: one object)
)";

// The session's fields as stored ({"modelOverride": ..., "thinkingLevel": ..., "plugins": {...}}).
std::string EntryJson(const SessionState& s) { return s.empty() ? "{}" : s.StorageJson(); }

// {"agent": ..., "key": ..., "entry": {...}}, appended to `w`.
void WriteSession(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& agent, const std::string& key,
                  const SessionState& s) {
  std::string entry = EntryJson(s);
  w.StartObject();
  w.Key("agent");
  w.String(agent.c_str(), static_cast<rapidjson::SizeType>(agent.size()));
  w.Key("key");
  w.String(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
  w.Key("entry");
  w.RawValue(entry.c_str(), entry.size(), rapidjson::kObjectType);
  w.EndObject();
}

std::string JsonString(const std::string& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  return buf.GetString();
}

std::string Summary(const SessionState& s) {
  std::string model = s.provider_override && s.model_override ? *s.provider_override + "/" + *s.model_override
                                                              : "(default model)";
  if (s.auth_profile_override)
    absl::StrAppend(&model, " @", *s.auth_profile_override, " (", s.auth_profile_override_source.value_or("?"), ")");
  return model;
}

}  // namespace

int RunSessions(std::vector<std::string> argv) {
  Common common;
  Args args(std::move(argv), &common);
  if (int rc = ParseVerb(args, "sessions", kSessionsHelp, {}, {"--json"}); rc >= 0) return rc;
  const auto& pos = args.positional();
  if (pos.empty()) return Usage("sessions", "expected list, show KEY or reset KEY");
  const std::string& sub = pos[0];
  if (sub == "list") {
    if (pos.size() != 1) return Usage("sessions", "list takes no argument");
  } else if (sub == "show" || sub == "reset" || sub == "history") {
    if (pos.size() != 2) return Usage("sessions", sub + " expects one session KEY");
  } else {
    return Usage("sessions", "unknown subcommand \"" + sub + "\" (expected list, show, history or reset)");
  }
  const bool json = args.Has("--json");
  if (sub == "reset" && json) return Usage("sessions", "reset takes no --json");
  auto config = LoadConfig(common);
  if (!config.ok()) return Fail(config.status());
  // Only `reset` writes: the other subcommands open a SQLite store read-only, so they work on a
  // read-only mount and create nothing (a store not created yet holds no session).
  absl::StatusOr<std::unique_ptr<SessionStore>> store;
  auto redis = ConfiguredRedis(*config);
  if (!redis.ok()) return Fail(redis.status());
  if (*redis || sub == "reset") {
    store = OpenConfiguredSessionStore(*config, common.StateDir());
  } else {
    auto sqlite = SqliteSessionStore::Open(common.StateDir() + "/sessions.sqlite", /*read_only=*/true);
    if (absl::IsNotFound(sqlite.status())) store = std::unique_ptr<SessionStore>(std::make_unique<MemorySessionStore>());
    else if (!sqlite.ok()) store = sqlite.status();
    else store = std::unique_ptr<SessionStore>(*std::move(sqlite));
  }
  if (!store.ok()) return Fail(store.status());
  const std::string agent = common.agent.empty() ? config->DefaultAgentId() : common.agent;

  if (sub == "list") {
    auto keys = (*store)->Keys(agent);
    if (!keys.ok()) return Fail(keys.status());
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    std::string out;
    w.StartArray();
    // A session that cannot be read (a garbage row) is reported and the others still listed;
    // the exit status is then 1.
    bool bad = false;
    for (const std::string& key : *keys) {
      auto s = (*store)->Get(agent, key);
      if (!s.ok()) {
        bad = true;
        std::cerr << "modelpin: " << s.status().message() << " (fix: modelpin sessions reset " << key << ")\n";
        continue;
      }
      if (json) WriteSession(w, agent, key, *s);
      else absl::StrAppend(&out, key, "  ", Summary(*s), "\n");
    }
    w.EndArray();
    if (json) out = absl::StrCat(buf.GetString(), "\n");
    else if (keys->empty()) out = absl::StrCat("No sessions stored for agent ", agent, ".\n");
    std::cout << out;
    return bad ? kExitError : kExitOk;
  }
  const std::string& key = pos[1];
  if (sub == "show") {
    auto s = (*store)->Get(agent, key);
    if (!s.ok()) return Fail(s.status());
    if (json) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      WriteSession(w, agent, key, *s);
      std::cout << buf.GetString() << "\n";
    } else {
      std::cout << "Session " << key << " (agent " << agent << "): " << Summary(*s) << "\n"
                << "  " << EntryJson(*s) << "\n";
    }
    return kExitOk;
  }
  if (sub == "history") {
    auto s = (*store)->Get(agent, key);
    if (!s.ok()) return Fail(s.status());
    const ModelpinSessionData* m = s->modelpin.get();
    if (json) {
      // The "modelpin" object ({"history": [...], "pinScope": {...}}), each event's selections
      // inline, with the key.
      std::string data = s->ModelpinJson(/*expanded=*/true);
      std::cout << "{\"agent\":" << JsonString(agent) << ",\"key\":" << JsonString(key)
                << ",\"history\":" << (data.empty() ? "{}" : data) << "}\n";
      return kExitOk;
    }
    if (!m || m->history.empty()) {
      std::cout << "Session " << key << " (agent " << agent << "): no model or auth profile changes recorded.\n";
    } else {
      std::cout << "Session " << key << " (agent " << agent << "): " << m->history.size()
                << (m->history.size() == 1 ? " change" : " changes") << ", oldest first\n";
      for (const PinEvent& e : m->history) std::cout << "  " << DescribePinEvent(e) << "\n";
    }
    if (m && m->scope)
      std::cout << "Scoped pin: " << (m->scope->kind == PinScope::Kind::kFor ? "until " + HistoryTime(m->scope->until_ms)
                                                                           : std::to_string(m->scope->turns_left) + " more message(s)")
                << ", then back to " << DescribeSelection(*m->scope->restore) << "\n";
    return kExitOk;
  }
  if (absl::Status st = (*store)->Put(agent, key, SessionState{}); !st.ok()) return Fail(st);
  std::cout << "Session " << key << " reset (agent " << agent << ").\n";
  return kExitOk;
}

}  // namespace modelpin::cli
