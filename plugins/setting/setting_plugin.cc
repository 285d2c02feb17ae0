#include <modelpin/plugins/setting/setting_plugin.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include <modelpin/grammar/word_argument.h>

namespace modelpin {
namespace {

class SettingPlugin : public Plugin {
 public:
  explicit SettingPlugin(SettingSpec spec) : spec_(std::move(spec)) {}
  std::string_view name() const override { return spec_.names.front(); }
  std::vector<CommandInfo> Commands() const override {
    CommandInfo c{.name = std::string(spec_.names.front()), .summary = spec_.summary};
    for (size_t i = 1; i < spec_.names.size(); ++i) c.aliases.emplace_back(spec_.names[i]);
    c.usage = absl::StrCat("/", c.name, " [", absl::StrJoin(spec_.values, "|"), "]");
    c.arguments = spec_.values;
    return {c};
  }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = grammar::FindLevelDirective(text, spec_.names, spec_.normalize);
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  // Alone, the directive answers and changes the session's setting. Inside a longer message
  // (inline_applies_once) OpenClaw gives the same answer as a block reply and the message goes on
  // to the model; the session's setting stays as it was.
  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::WordArgument&>(hit.payload);
    if (!spec_.inline_applies_once || ctx.directive_only) return Answer(d, ctx.session.plugin_state);
    auto scratch = ctx.session.plugin_state;
    return AsInlineNotice(Answer(d, scratch));
  }

 private:
  DirectiveResult Answer(const grammar::WordArgument& d, std::map<std::string, std::string>& state) const {
    std::string options = absl::StrJoin(spec_.values, ", ");
    if (!d.argument) {
      auto it = state.find(spec_.state_key);
      std::string current = it == state.end() ? spec_.default_value : it->second;
      return DirectiveResult::Query(absl::StrCat("Current ", spec_.noun, ": ", current, ".\nOptions: ", options, "."));
    }
    std::string value(spec_.normalize(*d.argument));
    if (std::find(spec_.values.begin(), spec_.values.end(), value) == spec_.values.end()) {
      return DirectiveResult::Query(absl::StrCat("Unrecognized ", spec_.noun, " \"", *d.argument, "\". Valid levels: ",
                                                 spec_.unrecognized_values.empty() ? options : spec_.unrecognized_values,
                                                 "."));
    }
    state[spec_.state_key] = value;
    std::string ack = spec_.default_ack;
    for (const auto& [v, text] : spec_.acks)
      if (v == value) ack = text;
    return DirectiveResult::Ack(absl::StrReplaceAll(ack, {{"{}", value}}));
  }

  SettingSpec spec_;
};

}  // namespace

std::unique_ptr<Plugin> MakeSettingPlugin(SettingSpec spec) { return std::make_unique<SettingPlugin>(std::move(spec)); }

}  // namespace modelpin
