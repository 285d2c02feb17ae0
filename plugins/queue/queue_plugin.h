// The `queue` plugin: "/queue <mode>", how messages that arrive during a run are handled.
#ifndef MODELPIN_PLUGINS_QUEUE_QUEUE_PLUGIN_H_
#define MODELPIN_PLUGINS_QUEUE_QUEUE_PLUGIN_H_
#include <memory>
#include <modelpin/engine/turn/plugin.h>
namespace modelpin {
std::unique_ptr<Plugin> MakeQueuePlugin();
}  // namespace modelpin
#endif  // MODELPIN_PLUGINS_QUEUE_QUEUE_PLUGIN_H_
