// The `think` plugin: "/think <level>" sets the session's thinking level, which `/model` shows
// as "Think: <level>". Levels are checked against the model the message ends up on (its thinking
// profile: engine/models/thinking.h), so it applies after the other directives of a message.
#ifndef MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_
#define MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_

#include <memory>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin {
std::unique_ptr<Plugin> MakeThinkPlugin();
}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_
