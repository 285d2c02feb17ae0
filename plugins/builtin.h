// The command families shipped with modelpin. An embedder hands them to the engine in one line:
//
//   modelpin::EngineOptions options{.state_dir = state, .plugins = modelpin::BuiltinPlugins()};
//
// or adds them to a registry it fills itself (before its own plugins, so that they keep
// OpenClaw's directive order).
#ifndef MODELPIN_PLUGINS_BUILTIN_H_
#define MODELPIN_PLUGINS_BUILTIN_H_

#include "absl/status/status.h"
#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

// Adds /think, /verbose, /model (with /models and the alias shorthands), /queue and /commands,
// in that order. Fails only when one of their words is taken already.
absl::Status AddBuiltinPlugins(PluginRegistry& registry);
// A registry holding only the built-in plugins.
PluginRegistry BuiltinPlugins();

}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_BUILTIN_H_
