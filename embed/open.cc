#include <modelpin/embed/open.h>

#include <cstdlib>

#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/store_factory.h>
#include <modelpin/engine/turn/plugin_loader.h>
#include <modelpin/plugins/builtin.h>

namespace modelpin {

absl::StatusOr<Config> LoadSetupConfig(const EngineSetup& setup) {
  if (!setup.config_path.empty()) return Config::Load(setup.config_path);
  if (setup.state_dir.empty()) return Config::Empty();
  auto config = Config::Load(setup.state_dir + "/modelpin.json");
  if (absl::IsNotFound(config.status())) return Config::Empty();
  return config;
}

absl::StatusOr<std::unique_ptr<Engine>> OpenEngine(EngineSetup setup) {
  ASSIGN_OR_RETURN(Config config, LoadSetupConfig(setup));
  const bool shared = !config.store().url.empty();  // Redis: sessions (unless kMemory) and auth health

  std::unique_ptr<SessionStore> sessions;
  if (setup.sessions == EngineSetup::Sessions::kMemory || (!shared && setup.state_dir.empty() && setup.sqlite_path.empty())) {
    sessions = NewMemorySessionStore();
  } else if (shared) {
    ASSIGN_OR_RETURN(sessions, OpenConfiguredSessionStore(config, setup.state_dir, setup.events));
  } else {
    std::string path = setup.sqlite_path;
    if (path.empty()) {
      if (!setup.read_only) RETURN_IF_ERROR(MakeDirs(setup.state_dir));
      path = setup.state_dir + "/sessions.sqlite";
    }
    auto store = OpenSqliteSessionStore(path, setup.read_only, setup.events);
    if (setup.read_only && absl::IsNotFound(store.status())) {
      sessions = NewMemorySessionStore();  // nothing stored yet
    } else {
      RETURN_IF_ERROR(store.status());
      sessions = *std::move(store);
    }
  }
  sessions->SetGroupCommit(setup.group_commit);

  EngineOptions options;
  if (setup.builtin_plugins) options.plugins = BuiltinPlugins();
  for (auto& plugin : setup.plugins) RETURN_IF_ERROR(options.plugins.Add(std::move(plugin)));
  ASSIGN_OR_RETURN(options.auth_health, OpenConfiguredAuthHealth(config, setup.events));
  options.state_dir = setup.state_dir;
  options.clock = setup.clock ? setup.clock : std::make_shared<SystemClock>();
  options.strict = setup.strict;
  options.auth_recheck_ms = setup.auth_recheck_ms;
  options.events = std::move(setup.events);
  options.environment = std::move(setup.environment);
  options.extra_plugin_files = std::move(setup.plugin_files);
  return Engine::Create(std::move(config), std::move(sessions), std::move(options));
}

}  // namespace modelpin
