// Per-session state and where it is kept.
//
// SessionState holds the fields OpenClaw stores on a session entry, under the same JSON names,
// so replays compare field for field. A SessionStore maps (agent, session key) to a state; the
// embedded default is SQLite in WAL mode (one small transaction per change), the memory store
// serves tests and replays without a state dir.
//
//   auto store = OpenSqliteSessionStore("/var/lib/modelpin/sessions.sqlite");
//   SessionState s = (*store)->Get("main", "agent:main:main").value();
//   s.model_override = "claude-sonnet-4-5";
//   (*store)->Put("main", "agent:main:main", s);
//
// The parts: session_state.h (the state), session_store.h (the interface), store_factory.h (the
// memory, SQLite and configured stores, opened as that interface). The backends themselves
// (memory_store.h, sqlite_store.h, redis_store.h) are internal and not installed.
#ifndef MODELPIN_ENGINE_SESSIONS_SESSION_H_
#define MODELPIN_ENGINE_SESSIONS_SESSION_H_

#include <modelpin/engine/sessions/session_state.h>
#include <modelpin/engine/sessions/session_store.h>
#include <modelpin/engine/sessions/store_factory.h>

#endif  // MODELPIN_ENGINE_SESSIONS_SESSION_H_
