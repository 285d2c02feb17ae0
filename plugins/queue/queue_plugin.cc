#include "plugins/queue/queue_plugin.h"

#include "plugins/setting/setting_plugin.h"

namespace modelpin {

std::unique_ptr<Plugin> MakeQueuePlugin() {
  // "⚙️ Queue mode set to collect." is OpenClaw's text (oracle); the list of modes and the
  // query texts follow its documentation, not an oracle run.
  return MakeSettingPlugin({.names = {"queue"},
                            .state_key = "queueMode",
                            .default_value = "collect",
                            .noun = "queue mode",
                            .values = {"steer", "followup", "collect", "steer-backlog", "interrupt"},
                            .unrecognized_values = "",
                            .normalize = nullptr,
                            .inline_applies_once = false,
                            .acks = {},
                            .default_ack = "⚙️ Queue mode set to {}."});
}

}  // namespace modelpin
