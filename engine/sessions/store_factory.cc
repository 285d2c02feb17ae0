// The stores a config asks for (`modelpin.store`): Redis or SQLite sessions, Redis auth health.
#include <modelpin/engine/sessions/redis_store.h>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>

namespace modelpin {

absl::StatusOr<std::optional<RedisOptions>> ConfiguredRedis(const Config& config) {
  const Config::StoreConfig& sc = config.store();
  if (sc.url.empty()) return std::nullopt;
  auto options = RedisOptions::FromUrl(sc.url);
  if (!options.ok())
    return absl::InvalidArgumentError(absl::StrCat(config.path(), ": $.modelpin.store: ", options.status().message()));
  options->prefix = sc.prefix;
  options->timeout_ms = sc.timeout_ms;
  options->wait_replicas = sc.wait_replicas;
  return options;
}

absl::StatusOr<std::unique_ptr<SessionStore>> OpenConfiguredSessionStore(const Config& config,
                                                                         const std::string& state_dir,
                                                                         std::shared_ptr<EventSink> events) {
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));
  if (!redis) {
    ASSIGN_OR_RETURN(auto sqlite, SqliteSessionStore::Open(state_dir + "/sessions.sqlite", false, std::move(events)));
    return std::unique_ptr<SessionStore>(std::move(sqlite));
  }
  ASSIGN_OR_RETURN(auto store, RedisSessionStore::Open(*redis, std::move(events)));
  return std::unique_ptr<SessionStore>(std::move(store));
}

absl::StatusOr<std::shared_ptr<AuthHealthStore>> OpenConfiguredAuthHealth(const Config& config,
                                                                          std::shared_ptr<EventSink> events) {
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));
  if (!redis) return nullptr;
  ASSIGN_OR_RETURN(auto health, RedisAuthHealth::Open(*redis, std::move(events)));
  return std::shared_ptr<AuthHealthStore>(std::move(health));
}


}  // namespace modelpin
