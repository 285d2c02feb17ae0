// The reader of `modelpin.routes` (the routing rules of engine/config/routes.h), one of the
// config's section readers (engine/config/config.cc calls it once the agents' aliases are read).
#ifndef MODELPIN_ENGINE_CONFIG_ROUTES_READER_H_
#define MODELPIN_ENGINE_CONFIG_ROUTES_READER_H_

#include <vector>

#include "absl/status/statusor.h"
#include <modelpin/engine/config/config.h>
#include <modelpin/engine/config/json_reader.h>
#include <modelpin/engine/config/routes.h>
#include "rapidjson/document.h"

namespace modelpin {

// modelpin.routes: [{"name", "match": {"sessionKey", "chatType", "channel"}, "model", "authOrder"}].
// Stricter than the rest of the config (unknown keys are errors): a misspelt match field would
// otherwise make a rule match every session. `aliases` are agents.defaults.models, for "model".
absl::StatusOr<std::vector<RouteRule>> ReadRoutes(const JsonReader& r, const rapidjson::Value& v,
                                                  const std::vector<ModelAliasEntry>& aliases);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_ROUTES_READER_H_
