// Opening the stores: every session store an embedder gets is a SessionStore and every shared
// auth-health store an AuthHealthStore. The backends behind them (memory, SQLite, Redis and
// their caches) are internal, not installed, so they change without breaking programs built
// against libmodelpin (docs/embedding.md, "Installing and linking").
//
//   auto sessions = modelpin::OpenSqliteSessionStore(state + "/sessions.sqlite");
//   if (!sessions.ok()) return Die(sessions.status().message());   // names the file
//   auto engine = modelpin::Engine::Create(*std::move(config), *std::move(sessions), {.state_dir = state});
//   auto scratch = modelpin::NewMemorySessionStore();               // nothing kept
//
// OpenEngine (embed/open.h) opens them from a config; these are for a client that builds its
// engine with Engine::Create.
#ifndef MODELPIN_ENGINE_SESSIONS_STORE_FACTORY_H_
#define MODELPIN_ENGINE_SESSIONS_STORE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include <modelpin/engine/auth/auth_health.h>
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/events/events.h>
#include <modelpin/engine/sessions/session_store.h>

namespace modelpin {

// Sessions in this process's memory, compactly (a bot may hold a million): tests, replays and
// bots without a state dir.
std::unique_ptr<SessionStore> NewMemorySessionStore();

// The embedded store: SQLite at `path` in WAL mode, created when missing, one small transaction
// per change, shared by the processes of one machine. Errors name the file.
// `read_only`: opens an existing store for reading only: nothing is created or migrated, every
// write fails, and a store missing is NotFound. `events`: told of every operation that reaches
// the database (EventSink::OnStoreOp).
absl::StatusOr<std::unique_ptr<SessionStore>> OpenSqliteSessionStore(const std::string& path, bool read_only = false,
                                                                     std::shared_ptr<EventSink> events = nullptr);

// The session store a config asks for: Redis when `modelpin.store` is a redis://, unix:// or
// redis-sentinel:// URL (with `storePrefix`, `storeTimeoutMs`, `storeWaitReplicas`), else SQLite
// at <state_dir>/sessions.sqlite. Errors name `$.modelpin.store` (the URL's password masked) or
// the file. `events`: the store's operations and, with Sentinel, its failovers.
absl::StatusOr<std::unique_ptr<SessionStore>> OpenConfiguredSessionStore(const Config& config,
                                                                         const std::string& state_dir,
                                                                         std::shared_ptr<EventSink> events = nullptr);

// The auth health store a config asks for: the shared one in Redis with `modelpin.store`, else
// nullptr (EngineOptions::auth_health's default, the auth store file).
absl::StatusOr<std::shared_ptr<AuthHealthStore>> OpenConfiguredAuthHealth(const Config& config,
                                                                          std::shared_ptr<EventSink> events = nullptr);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_STORE_FACTORY_H_
