// The one list of command families shipped with modelpin. Order is directive order: OpenClaw
// extracts /think before /model, so a message holding both is read the same way here.
#include "engine/plugin.h"
#include "plugins/model/model_plugin.h"
#include "plugins/think/think_plugin.h"

namespace modelpin {

void RegisterBuiltinPlugins(PluginRegistry& registry) {
  registry.Add(MakeThinkPlugin());
  registry.Add(MakeModelPlugin());
}

}  // namespace modelpin
