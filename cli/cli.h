// The modelpin command line: a thin shell over the library. Each verb parses its arguments,
// calls the same engine API a bot uses, and prints. Usage errors exit 2 with one line; store and
// config errors exit 1 naming the file and JSON path.
#ifndef MODELPIN_CLI_CLI_H_
#define MODELPIN_CLI_CLI_H_

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/turn/agent_store.h>
#include <modelpin/embed/open.h>
#include <modelpin/engine/turn/engine.h>
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin::cli {

// The verbs' --json output: one writer type and the helpers every verb uses.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;
inline void Str(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }
inline void Key(JsonWriter& w, const char* k) { w.Key(k); }
// null for "" (nothing selected, no problem, no reason), else the string.
inline void StrOrNull(JsonWriter& w, std::string_view s) {
  if (s.empty()) w.Null();
  else Str(w, s);
}
inline void StrList(JsonWriter& w, const std::vector<std::string>& list) {
  w.StartArray();
  for (const auto& s : list) Str(w, s);
  w.EndArray();
}

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// Options every verb takes, and where they lead.
struct Common {
  std::string config_flag;  // --config
  std::string state_flag;   // --state
  std::string agent;        // --agent ("" = the config's default agent)
  bool strict = false;      // --strict
  std::vector<std::string> plugin_paths;  // --plugin PATH, repeatable: run-time plugins to load
  bool state_given = false; // --state or $MODELPIN_STATE_DIR was set

  std::string StateDir() const;    // --state, $MODELPIN_STATE_DIR, ~/.modelpin
  std::string ConfigPath() const;  // --config, $MODELPIN_CONFIG, <state>/modelpin.json
};

// Thrown by nothing: parse errors come back as a message for exit 2.
class Args {
 public:
  Args(std::vector<std::string> args, Common* common) : args_(std::move(args)), common_(common) {}
  // Consumes the common options and the flags named in `value_flags` / `bool_flags`; the rest
  // are positional. Returns an error message, or "".
  std::string Parse(const std::vector<std::string>& value_flags, const std::vector<std::string>& bool_flags);
  bool Has(const std::string& flag) const;
  std::string Value(const std::string& flag) const;  // "" when absent
  std::vector<std::string> Values(const std::string& flag) const;
  const std::vector<std::string>& positional() const { return positional_; }
  bool help() const { return help_; }

 private:
  std::vector<std::string> args_;
  Common* common_;
  std::vector<std::pair<std::string, std::string>> flags_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

// What the common options ask of OpenEngine: the state dir, an explicit config (--config,
// $MODELPIN_CONFIG), --strict, --plugin files (loaded after the config's plugins.load).
EngineSetup Setup(const Common& c);
// Loads the config (a missing default config is an empty one; a missing --config is an error).
absl::StatusOr<Config> LoadConfig(const Common& c);
// An engine over the state dir, opened by OpenEngine (embed/open.h). `persistent_sessions`: the configured store (SQLite under the
// state dir, or Redis), else memory. `group_commit`: see SessionStore::SetGroupCommit; a verb that
// turns it on calls Engine::FlushSessions before it reports success.
// `read_only`: a verb that only looks (explain, doctor) opens the session store read-only
// (EngineSetup::read_only).
absl::StatusOr<std::unique_ptr<Engine>> MakeEngine(const Common& c, bool persistent_sessions,
                                                   std::shared_ptr<const Clock> clock = nullptr,
                                                   std::chrono::milliseconds group_commit = {},
                                                   bool read_only = false);
// The clock verbs use: $MODELPIN_NOW_MS (tests pin time with it), else the system clock.
std::shared_ptr<const Clock> CliClock();

int Fail(const absl::Status& status);             // prints "modelpin: <message>", returns 1
int Usage(const std::string& verb, const std::string& message);  // prints a one-line reason, returns 2
// Parses a verb's flags and answers --help with `help`: the exit code to stop with (a usage
// error, or 0 after the help), or -1 to go on.
int ParseVerb(Args& args, const std::string& verb, const char* help, const std::vector<std::string>& value_flags,
              const std::vector<std::string>& bool_flags);
// Whether a subcommand position asks for help: "--help", "-h" or "help".
inline bool IsHelpWord(std::string_view word) { return word == "--help" || word == "-h" || word == "help"; }

// Shared by the `models` verbs (cli/models_cmd.cc). Their rules (which agent a command is about:
// KnownAgent; an agent's own store: UpdateOwnStore; BadSecret, ...) are the library's,
// engine/turn/agent_store.h.
int MissingProvider();  // the error OpenClaw gives without --provider, exit 1
std::string AgentDir(const Common& c, const std::string& agent);
// Stores `c` in the agent's own store as paste-token does and prints it masked; exit code
// (cli/models_paste_cmd.cc).
int SaveCredential(Engine& e, const std::string& agent, const Credential& c);

int RunReplay(std::vector<std::string> args);
int RunChat(std::vector<std::string> args);
int RunModels(std::vector<std::string> args);
// The `models` families, each in its own file: cli/models_status_cmd.cc, cli/models_order_cmd.cc
// (`models auth order` with its subcommand first), cli/models_paste_cmd.cc (`token`: paste-token,
// else paste-api-key).
int RunModelsStatus(std::vector<std::string> args);
int RunModelsOrder(std::vector<std::string> args);
int RunPaste(bool token, std::vector<std::string> args);
int RunExplain(std::vector<std::string> args);
int RunDoctor(std::vector<std::string> args);
// cli/auth_cmd.cc: the credential lifecycle.
int RunAuthList(std::vector<std::string> args);
int RunAuthRemove(std::vector<std::string> args);
int RunAuthCooldowns(std::vector<std::string> args);
int RunAuthUsage(std::vector<std::string> args);  // docs/usage-and-budgets.md
int RunSetupToken(std::vector<std::string> args);
// cli/sessions_cmd.cc: sessions in a shared store.
int RunSessions(std::vector<std::string> args);
// cli/timeline_cmd.cc: a running service's rotation timeline (GET /v1/timeline).
int RunTimeline(std::vector<std::string> args);
// cli/serve_cmd.cc: the HTTP service (service/).
int RunServe(std::vector<std::string> args);

}  // namespace modelpin::cli

#endif  // MODELPIN_CLI_CLI_H_
