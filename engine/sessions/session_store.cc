#include <modelpin/engine/sessions/session_store.h>

#include <modelpin/base/status_macros.h>

namespace modelpin {

absl::StatusOr<SessionState> SessionStore::Get(const std::string& agent, const std::string& key) {
  SessionState s;
  RETURN_IF_ERROR(Load(agent, key, s));
  return s;
}

}  // namespace modelpin
