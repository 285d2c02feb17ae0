#include <modelpin/plugins/think/think_plugin.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include <modelpin/engine/models/thinking.h>
#include <modelpin/grammar/word_argument.h>

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
  // Its directive sets the thinking level: a /model in the same message leaves the level to it.
  uint32_t DirectiveEffects() const override { return static_cast<uint32_t>(DirectiveEffect::kSetsThinkingLevel); }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = grammar::FindLevelDirective(text, kNames, NormalizeThinkingLevel);
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  // Only a message of directives changes the session's level. Inside a longer message /think
  // sets the level of that one run, as in OpenClaw: nothing is stored (the route carries it,
  // Route::thinking), OpenClaw's answer to the directive alone is sent as a block reply, and a
  // level the model cannot use still refuses the message.
  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::WordArgument&>(hit.payload);
    if (ctx.directive_only) return Answer(d, ctx, ctx.session.thinking_level);
    std::optional<std::string> scratch = ctx.session.thinking_level;
    DirectiveResult r = Answer(d, ctx, scratch);
    if (r.kind == DirectiveReplyKind::kAck && d.argument && !IsThinkingResetWord(*d.argument) && !r.text.empty())
      r.run_thinking = *scratch;
    return AsInlineNotice(std::move(r));
  }

 private:
  // The answer to the directive alone, changing `level` (the session's, or a scratch copy).
  static DirectiveResult Answer(const grammar::WordArgument& d, const TurnContext& ctx, std::optional<std::string>& level) {
    const ModelRef model = ctx.CurrentModel();
    const ThinkingProfile profile = ThinkingProfileFor(ctx.resolver.catalog(), model);
    const std::string levels = absl::StrJoin(profile.levels, ", ");
    if (!d.argument) {
      // With no level stored, the level is the session model's own: the model before this message
      // ("/model sonnet /think" on opus-5 answers opus-5's "high", as OpenClaw does), shown as the
      // new model would run it.
      std::string current = profile.Supported(level.value_or(
          ThinkingProfileFor(ctx.resolver.catalog(), ctx.StoredModel()).start_level));
      return DirectiveResult::Query(absl::StrCat("Current thinking level: ", current, ".\nOptions: default, ", levels, "."));
    }
    if (IsThinkingResetWord(*d.argument)) {
      level.reset();
      return DirectiveResult::Ack("Thinking level reset to default.");
    }
    const std::string normalized(NormalizeThinkingLevel(*d.argument));
    if (normalized.empty()) {
      // OpenClaw answers an unknown level like a query (no error flag, nothing applied).
      return DirectiveResult::Query(
          absl::StrCat("Unrecognized thinking level \"", *d.argument, "\". Valid levels: default, ", levels, "."));
    }
    if (!profile.Accepts(normalized)) {
      return DirectiveResult::Error(absl::StrCat("Thinking level \"", normalized, "\" is not supported for ",
                                                 model.Label(), ". Use one of: ", levels, "."));
    }
    level = normalized;
    return DirectiveResult::Ack(normalized == "off" ? "Thinking disabled."
                                                    : absl::StrCat("Thinking level set to ", normalized, "."));
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeThinkPlugin() { return std::make_unique<ThinkPlugin>(); }

}  // namespace modelpin
