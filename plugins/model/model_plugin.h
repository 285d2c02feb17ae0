// The `model` plugin: the whole /model family (docs/compatibility.md): `/model` and its forms,
// the `/<alias>` shorthand, and the `/models` command.
#ifndef MODELPIN_PLUGINS_MODEL_MODEL_PLUGIN_H_
#define MODELPIN_PLUGINS_MODEL_MODEL_PLUGIN_H_

#include <memory>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin {
std::unique_ptr<Plugin> MakeModelPlugin();
}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_MODEL_MODEL_PLUGIN_H_
