// The `think` plugin: `/think <level>` sets the session's thinking level, which `/model` shows
// as "Think: <level>". Small on purpose: it proves that a command family is added by touching
// only plugins/ (this folder and one line of plugins/builtin.cc).
#ifndef MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_
#define MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/plugin.h"

namespace modelpin {

// The parsed directive: `level` is the argument as typed, or nullopt for a bare "/think".
struct ThinkDirective {
  grammar::Span span;
  std::optional<std::string> level;
};
// Syntax of the directive: "/think" [WS* ":"] [WS+ LEVEL], LEVEL = ASCII letters.
std::optional<ThinkDirective> FindThinkDirective(std::string_view text);

std::unique_ptr<Plugin> MakeThinkPlugin();

}  // namespace modelpin

#endif  // MODELPIN_PLUGINS_THINK_THINK_PLUGIN_H_
