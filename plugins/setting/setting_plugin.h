// A command family that is one enumerated session setting, read as an OpenClaw level directive:
// "/<name> <value>" sets it, "/<name>" alone shows it. /verbose is an instance.
#ifndef MODELPIN_PLUGINS_SETTING_SETTING_PLUGIN_H_
#define MODELPIN_PLUGINS_SETTING_SETTING_PLUGIN_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <modelpin/engine/turn/plugin.h>

namespace modelpin {

struct SettingSpec {
  std::vector<std::string_view> names;  // directive names, lower case; names[0] is the word
  std::string state_key;                // key in SessionState::plugin_state
  std::string default_value;            // shown when nothing is stored
  std::string noun;                     // "verbose level": "Current verbose level: off."
  std::string summary;                  // one line for /commands and help
  std::vector<std::string> values;      // accepted values, in the order "Options:" lists them
  std::string unrecognized_values;      // the list after "Valid levels:" ("" = as `values`)
  // The value an argument names, in OpenClaw's spellings, "" for none (grammar::FindLevelDirective
  // also uses it to decide how far the argument reaches).
  std::string_view (*normalize)(std::string_view) = nullptr;
  // Inside a longer message the setting applies to that one run: nothing is stored, nothing
  // acknowledged, and a query or an unknown value is ignored (OpenClaw's /verbose).
  bool inline_applies_once = false;
  // Acknowledgement per value; "{}" is replaced by the value.
  std::vector<std::pair<std::string, std::string>> acks;
  std::string default_ack;  // for values without their own text
};

std::unique_ptr<Plugin> MakeSettingPlugin(SettingSpec spec);

}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_SETTING_SETTING_PLUGIN_H_
