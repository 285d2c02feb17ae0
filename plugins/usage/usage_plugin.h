// The /usage command family (docs/usage-and-budgets.md): OpenClaw's `/usage off|tokens|full|reset`
// sets the session's usage footer (responseUsage; `/usage` alone cycles off -> tokens -> full), and
// `/usage cost` shows, to owners, what each of the agent's auth profiles used and cost.
#ifndef MODELPIN_PLUGINS_USAGE_USAGE_PLUGIN_H_
#define MODELPIN_PLUGINS_USAGE_USAGE_PLUGIN_H_

#include <memory>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

std::unique_ptr<Plugin> MakeUsagePlugin();

}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_USAGE_USAGE_PLUGIN_H_
