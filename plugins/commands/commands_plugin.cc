#include <modelpin/plugins/commands/commands_plugin.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/base/text.h>

namespace modelpin {
namespace {

class CommandsPlugin : public Plugin {
 public:
  std::string_view name() const override { return "commands"; }
  std::vector<CommandInfo> Commands() const override {
    return {{.name = "commands", .summary = "List the commands this session has.", .usage = "/commands"}};
  }
  std::optional<std::vector<Reply>> HandleCommand(std::string_view text, TurnContext& ctx) const override {
    if (!text::EqualsLower(text::Trim(text), "/commands") || ctx.plugins == nullptr) return std::nullopt;
    return std::vector<Reply>{{CommandsText(*ctx.plugins, ctx.agent, ctx.sender_is_owner), false}};
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeCommandsPlugin() { return std::make_unique<CommandsPlugin>(); }

std::string CommandsText(const PluginRegistry& plugins, const AgentView& agent, bool sender_is_owner) {
  std::string out = "Commands:";
  for (const auto& c : plugins.commands()) {
    if (c.owner_only && !sender_is_owner) continue;
    absl::StrAppend(&out, "\n/", c.name);
    if (!c.aliases.empty()) absl::StrAppend(&out, " (/", absl::StrJoin(c.aliases, ", /"), ")");
    if (!c.summary.empty()) absl::StrAppend(&out, " — ", c.summary);
    if (c.owner_only) absl::StrAppend(&out, " (owner only)");
    if (!c.usage.empty()) absl::StrAppend(&out, "\n  ", c.usage);
  }
  std::vector<std::string> shortcuts;
  for (const auto& plugin : plugins.plugins())
    for (const auto& w : plugin->AgentWords(agent))
      if (!plugins.IsCommandWord(w)) shortcuts.push_back("/" + w);
  if (!shortcuts.empty()) absl::StrAppend(&out, "\nShortcuts: ", absl::StrJoin(shortcuts, ", "));
  return out;
}

}  // namespace modelpin
