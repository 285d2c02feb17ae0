#include <modelpin/plugins/verbose/verbose_plugin.h>

#include <modelpin/base/text.h>
#include <modelpin/plugins/setting/setting_plugin.h>

namespace modelpin {
namespace {

// OpenClaw's spellings of the verbose levels (case-insensitive).
std::string_view VerboseLevel(std::string_view raw) {
  std::string key = text::ToLower(text::Trim(raw));
  if (text::IsOneOf(key, {"off", "false", "no", "0"})) return "off";
  if (text::IsOneOf(key, {"full", "all", "everything"})) return "full";
  if (text::IsOneOf(key, {"on", "minimal", "true", "yes", "1"})) return "on";
  return "";
}

}  // namespace

std::unique_ptr<Plugin> MakeVerbosePlugin() {
  return MakeSettingPlugin({.names = {"verbose", "v"},
                            .state_key = "verboseLevel",
                            .default_value = "off",
                            .noun = "verbose level",
                            .summary = "Show or set how much of a run the session reports.",
                            .values = {"on", "full", "off"},
                            .unrecognized_values = "off, on, full",
                            .normalize = VerboseLevel,
                            .inline_applies_once = true,
                            .acks = {{"on", "⚙️ Verbose logging enabled."},
                                     {"off", "⚙️ Verbose logging disabled."},
                                     {"full", "⚙️ Verbose logging set to full."}},
                            .default_ack = "⚙️ Verbose logging set to {}."});
}

}  // namespace modelpin
