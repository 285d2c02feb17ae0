// The one list of command families shipped with modelpin. Order is directive order: OpenClaw
// extracts /think, /verbose, /model, /queue in this order, and acknowledges them in it too.
#include "engine/plugin.h"
#include "plugins/model/model_plugin.h"
#include "plugins/queue/queue_plugin.h"
#include "plugins/think/think_plugin.h"
#include "plugins/verbose/verbose_plugin.h"

namespace modelpin {

void RegisterBuiltinPlugins(PluginRegistry& registry) {
  registry.Add(MakeThinkPlugin());
  registry.Add(MakeVerbosePlugin());
  registry.Add(MakeModelPlugin());
  registry.Add(MakeQueuePlugin());
}

}  // namespace modelpin
