// The one way to open an engine. Every client (the CLI, the Python package, the XMPP bot, the
// service, the examples, the tests' helpers) opens its engine here, so each honours the whole
// config the same way: the session and auth-health stores (`modelpin.store`: SQLite under the
// state dir, or Redis), the built-in command families, the config's `plugins.load`, credentials
// from the environment and <state>/.env, strict mode, rotation and routing rules.
//
//   auto engine = modelpin::OpenEngine({.state_dir = "/var/lib/mybot"});
//   if (!engine.ok()) return Die(engine.status().message());   // names the file and JSON path
//   auto out = (*engine)->Handle({.session_key = key, .text = text, .sender = who});
//
// A missing config file is OpenClaw's defaults (an empty config), unless the path was given
// explicitly (`config_path`): then it is an error naming the file.
#ifndef MODELPIN_EMBED_OPEN_H_
#define MODELPIN_EMBED_OPEN_H_

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/base/clock.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/engine/events/events.h>
#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

struct EngineSetup {
  // Holds modelpin.json (by default), agents/<id>/agent/auth-profiles.json, .env and, with the
  // SQLite store, sessions.sqlite. "" means no state at all: sessions in memory, no auth stores.
  std::string state_dir{};
  // The config file. "" means <state_dir>/modelpin.json, and a missing file there is an empty
  // config. A path given here must exist.
  std::string config_path{};
  // Where sessions live. kConfigured: what the config's `modelpin.store` names (Redis), else
  // SQLite at <state_dir>/sessions.sqlite (memory when there is no state dir). kMemory: in this
  // process only; the auth health still follows the config (a shared Redis stays shared).
  enum class Sessions { kConfigured, kMemory };
  Sessions sessions = Sessions::kConfigured;
  // A SQLite file to hold sessions instead of <state_dir>/sessions.sqlite (kConfigured only,
  // and only when the config names no shared store).
  std::string sqlite_path{};
  // Overrides config `modelpin.strict` when set.
  std::optional<bool> strict{};
  // Adds the shipped command families (/think, /verbose, /model, /queue, /commands) first.
  bool builtin_plugins = true;
  // The embedder's own C++ plugins, registered after the built-in ones.
  std::vector<std::shared_ptr<const Plugin>> plugins{};
  // Run-time plugin files (the CLI's --plugin), loaded after the config's `plugins.load`.
  std::vector<std::string> plugin_files{};
  // Defaults to the system clock.
  std::shared_ptr<const Clock> clock{};
  // The environment credentials are read from (nullopt: this process's environment).
  std::optional<std::map<std::string, std::string>> environment{};
  // How often (ms of clock time) to look whether an auth store or shared health changed.
  int64_t auth_recheck_ms = 1000;
  // Group commit for the session store (SessionStore::SetGroupCommit); 0: every change commits.
  std::chrono::milliseconds group_commit{0};
  // For tools that only look (status, list, show, explain, doctor): the SQLite store is opened
  // read-only (nothing created or migrated; a store on a read-only mount or without write
  // permission still opens), and a store not created yet reads as empty. Messages that change
  // a session then fail, naming the store.
  bool read_only = false;
  // Receives the engine's events (engine/events/events.h: pins, cooldowns, fallbacks, store
  // failovers); nullptr: none are built. observe/ has sinks for SSE, metrics and webhooks.
  std::shared_ptr<EventSink> events{};
};

// A ready engine, or an error that names what failed (file, JSON path, store URL with its
// password masked).
absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(EngineSetup setup);

// The config OpenEngine would read: `setup.config_path`, else <state_dir>/modelpin.json (a missing
// default file is an empty config).
absl::StatusOr<Config> LoadSetupConfig(const EngineSetup& setup);

}  // namespace modelpin

#endif  // MODELPIN_EMBED_OPEN_H_
