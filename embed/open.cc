#include <modelpin/embed/open.h>

#include <cstdlib>

#include <modelpin/base/json_file.h>
#include <modelpin/base/status_macros.h>
#include <modelpin/engine/sessions/redis_store.h>
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
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));

  std::unique_ptr<SessionStore> sessions;
  if (setup.sessions == EngineSetup::Sessions::kMemory || (!redis && setup.state_dir.empty() && setup.sqlite_path.empty())) {
    sessions = std::make_unique<MemorySessionStore>();
  } else if (redis) {
    ASSIGN_OR_RETURN(auto store, RedisSessionStore::Open(*redis, setup.events));
    sessions = std::move(store);
  } else {
    std::string path = setup.sqlite_path;
    if (path.empty()) {
      if (!setup.read_only) RETURN_IF_ERROR(MakeDirs(setup.state_dir));
      path = setup.state_dir + "/sessions.sqlite";
    }
    auto store = SqliteSessionStore::Open(path, setup.read_only, setup.events);
    if (setup.read_only && absl::IsNotFound(store.status())) {
      sessions = std::make_unique<MemorySessionStore>();  // nothing stored yet
    } else {
      RETURN_IF_ERROR(store.status());
      sessions = *std::move(store);
    }
  }
  sessions->SetGroupCommit(setup.group_commit);

  EngineOptions options;
  if (setup.builtin_plugins) options.plugins = BuiltinPlugins();
  for (auto& plugin : setup.plugins) RETURN_IF_ERROR(options.plugins.Add(std::move(plugin)));
  if (redis) {
    ASSIGN_OR_RETURN(auto health, RedisAuthHealth::Open(*redis, setup.events));
    options.auth_health = std::move(health);
  }
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
