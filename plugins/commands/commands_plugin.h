// The `commands` plugin: `/commands` lists the commands this session has, from the metadata
// every plugin of the engine declares (CommandInfo), and the agent's model shortcuts.
#ifndef MODELPIN_PLUGINS_COMMANDS_COMMANDS_PLUGIN_H_
#define MODELPIN_PLUGINS_COMMANDS_COMMANDS_PLUGIN_H_

#include <memory>
#include <string>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

std::unique_ptr<Plugin> MakeCommandsPlugin();

// The listing /commands replies with: each command a sender may use (owner-only ones only for
// owners), its aliases, summary and usage, then the agent's shorthand words.
std::string CommandsText(const PluginRegistry& plugins, const AgentView& agent, bool sender_is_owner);

}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_COMMANDS_COMMANDS_PLUGIN_H_
