#include "plugins/think/think_plugin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/thinking.h"
#include "grammar/text.h"
#include "grammar/word_argument.h"

namespace modelpin {
namespace {

class ThinkPlugin : public Plugin {
 public:
  std::string_view name() const override { return "think"; }
  std::vector<std::string> Words(const AgentView&) const override { return {"think"}; }
  bool AppliesLast() const override { return true; }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = grammar::FindWordArgument(text, "think");
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::WordArgument&>(hit.payload);
    ModelRef model = ctx.CurrentModel();
    ThinkingProfile profile = ThinkingProfileFor(ctx.resolver.catalog(), model);
    std::string options = "default, " + absl::StrJoin(profile.levels, ", ");
    DirectiveResult r;
    if (!d.argument) {
      r.query = Reply{absl::StrCat("Current thinking level: ", ctx.session.thinking_level.value_or(profile.default_level),
                                   ".\nOptions: ", options, "."),
                      false};
      return r;
    }
    std::string level = text::ToLower(*d.argument);
    if (level == "default") {
      ctx.session.thinking_level.reset();
      r.ack = "Thinking level reset to default.";
      return r;
    }
    const auto& all = AllThinkingLevels();
    if (std::find(all.begin(), all.end(), level) == all.end()) {
      // OpenClaw answers an unknown level like a query: no error flag, nothing applied.
      r.query = Reply{absl::StrCat("Unrecognized thinking level \"", *d.argument, "\". Valid levels: ", options, "."),
                      false};
      return r;
    }
    if (!profile.Accepts(level)) {
      r.error = Reply{absl::StrCat("Thinking level \"", level, "\" is not supported for ", model.Label(),
                                   ". Use one of: ", absl::StrJoin(profile.levels, ", "), "."),
                      true};
      return r;
    }
    ctx.session.thinking_level = level;
    r.ack = level == "off" ? "Thinking disabled." : absl::StrCat("Thinking level set to ", level, ".");
    return r;
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeThinkPlugin() { return std::make_unique<ThinkPlugin>(); }

}  // namespace modelpin
