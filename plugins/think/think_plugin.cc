#include "plugins/think/think_plugin.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/thinking.h"
#include "grammar/word_argument.h"

namespace modelpin {
namespace {

// OpenClaw's names for the directive, longest first.
constexpr std::string_view kNames[] = {"thinking", "think", "t"};

class ThinkPlugin : public Plugin {
 public:
  std::string_view name() const override { return "think"; }
  std::vector<CommandInfo> Commands() const override {
    return {{.name = "think",
             .aliases = {"thinking", "t"},
             .summary = "Show or set the session's thinking level.",
             .usage = "/think [level]",
             .arguments = AllThinkingLevels()}};
  }
  bool AppliesLast() const override { return true; }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = grammar::FindLevelDirective(text, kNames, NormalizeThinkingLevel);
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  // Only a message of directives changes the session's level. Inside a longer message /think
  // sets the level of that one run, as in OpenClaw: nothing is stored and nothing acknowledged
  // (the route carries it, Route::thinking), but a level the model cannot use still refuses the
  // message.
  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::WordArgument&>(hit.payload);
    const ModelRef model = ctx.CurrentModel();
    const ThinkingProfile profile = ThinkingProfileFor(ctx.resolver.catalog(), model);
    const std::string levels = absl::StrJoin(profile.levels, ", ");
    DirectiveResult r;
    if (!d.argument) {
      if (!ctx.directive_only) return r;
      // With no level stored, the level is the session model's own: the model before this message
      // ("/model sonnet /think" on opus-5 answers opus-5's "high", as OpenClaw does), shown as the
      // new model would run it.
      std::string current = profile.Supported(ctx.session.thinking_level.value_or(
          ThinkingProfileFor(ctx.resolver.catalog(), ctx.StoredModel()).start_level));
      r.query = Reply{absl::StrCat("Current thinking level: ", current, ".\nOptions: default, ", levels, "."), false};
      return r;
    }
    if (IsThinkingResetWord(*d.argument)) {
      if (!ctx.directive_only) return r;
      ctx.session.thinking_level.reset();
      r.ack = "Thinking level reset to default.";
      return r;
    }
    const std::string level(NormalizeThinkingLevel(*d.argument));
    if (level.empty()) {
      // OpenClaw answers an unknown level like a query (no error flag, nothing applied); inside a
      // longer message it ignores it.
      if (!ctx.directive_only) return r;
      r.query = Reply{absl::StrCat("Unrecognized thinking level \"", *d.argument, "\". Valid levels: default, ", levels, "."),
                      false};
      return r;
    }
    if (!profile.Accepts(level)) {
      r.error = Reply{absl::StrCat("Thinking level \"", level, "\" is not supported for ", model.Label(),
                                   ". Use one of: ", levels, "."),
                      true};
      return r;
    }
    if (!ctx.directive_only) {
      ctx.run_thinking = level;
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
