// The `verbose` plugin: "/verbose on|full|off". Texts from OpenClaw 2026.9.6 (oracle, combined.txt).
#ifndef MODELPIN_PLUGINS_VERBOSE_VERBOSE_PLUGIN_H_
#define MODELPIN_PLUGINS_VERBOSE_VERBOSE_PLUGIN_H_
#include <memory>
#include <modelpin/engine/turn/plugin.h>
namespace modelpin {
std::unique_ptr<Plugin> MakeVerbosePlugin();
}  // namespace modelpin
#endif  // MODELPIN_PLUGINS_VERBOSE_VERBOSE_PLUGIN_H_
