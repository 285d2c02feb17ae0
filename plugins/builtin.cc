// The one list of command families shipped with modelpin. Order is directive order: OpenClaw
// extracts /think, /verbose, /model, /queue in this order, and acknowledges them in it too.
#include <modelpin/plugins/builtin.h>

#include <modelpin/base/status_macros.h>
#include <modelpin/plugins/commands/commands_plugin.h>
#include <modelpin/plugins/model/model_plugin.h>
#include <modelpin/plugins/queue/queue_plugin.h>
#include <modelpin/plugins/think/think_plugin.h>
#include <modelpin/plugins/usage/usage_plugin.h>
#include <modelpin/plugins/verbose/verbose_plugin.h>

namespace modelpin {

absl::Status AddBuiltinPlugins(PluginRegistry& registry) {
  RETURN_IF_ERROR(registry.Add(MakeThinkPlugin()));
  RETURN_IF_ERROR(registry.Add(MakeVerbosePlugin()));
  RETURN_IF_ERROR(registry.Add(MakeModelPlugin()));
  RETURN_IF_ERROR(registry.Add(MakeQueuePlugin()));
  RETURN_IF_ERROR(registry.Add(MakeUsagePlugin()));
  return registry.Add(MakeCommandsPlugin());
}

PluginRegistry BuiltinPlugins() {
  PluginRegistry registry;
  // Into an empty registry the built-ins cannot collide.
  absl::Status added = AddBuiltinPlugins(registry);
  (void)added;
  return registry;
}

}  // namespace modelpin
