// The stores a config asks for (`modelpin.store`): Redis or SQLite sessions, Redis auth health;
// and the memory and SQLite stores by themselves. An embedder sees these functions only, never the
// backends' classes (store_factory.h).
#include <modelpin/engine/sessions/store_factory.h>

#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/engine/sessions/redis_store.h>
#include <modelpin/engine/sessions/sqlite_store.h>

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

std::unique_ptr<SessionStore> NewMemorySessionStore() { return std::make_unique<MemorySessionStore>(); }

absl::StatusOr<std::unique_ptr<SessionStore>> OpenSqliteSessionStore(const std::string& path, bool read_only,
                                                                     std::shared_ptr<EventSink> events) {
  ASSIGN_OR_RETURN(auto sqlite, SqliteSessionStore::Open(path, read_only, std::move(events)));
  return std::unique_ptr<SessionStore>(std::move(sqlite));
}

absl::StatusOr<std::unique_ptr<SessionStore>> OpenConfiguredSessionStore(const Config& config,
                                                                         const std::string& state_dir,
                                                                         std::shared_ptr<EventSink> events) {
  ASSIGN_OR_RETURN(std::optional<RedisOptions> redis, ConfiguredRedis(config));
  if (!redis) return OpenSqliteSessionStore(state_dir + "/sessions.sqlite", false, std::move(events));
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
