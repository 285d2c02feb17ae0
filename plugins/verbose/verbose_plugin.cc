#include "plugins/verbose/verbose_plugin.h"

#include "plugins/setting/setting_plugin.h"

namespace modelpin {

std::unique_ptr<Plugin> MakeVerbosePlugin() {
  return MakeSettingPlugin({.word = "verbose",
                            .state_key = "verboseLevel",
                            .default_value = "off",
                            .noun = "verbose level",
                            .values = {"on", "full", "off"},
                            .acks = {{"on", "⚙️ Verbose logging enabled."}, {"off", "⚙️ Verbose logging disabled."}},
                            // NOTE: not seen in the oracle; worded like the other two.
                            .default_ack = "⚙️ Verbose logging set to {}."});
}

}  // namespace modelpin
