#include "plugins/setting/setting_plugin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "grammar/word_argument.h"

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

  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const grammar::WordArgument&>(hit.payload);
    DirectiveResult r;
    const bool once = spec_.inline_applies_once && !ctx.directive_only;
    std::string options = absl::StrJoin(spec_.values, ", ");
    if (!d.argument) {
      if (once) return r;
      auto it = ctx.session.plugin_state.find(spec_.state_key);
      std::string current = it == ctx.session.plugin_state.end() ? spec_.default_value : it->second;
      r.query = Reply{absl::StrCat("Current ", spec_.noun, ": ", current, ".\nOptions: ", options, "."), false};
      return r;
    }
    std::string value(spec_.normalize(*d.argument));
    if (std::find(spec_.values.begin(), spec_.values.end(), value) == spec_.values.end()) {
      if (once) return r;
      r.query = Reply{absl::StrCat("Unrecognized ", spec_.noun, " \"", *d.argument, "\". Valid levels: ",
                                   spec_.unrecognized_values.empty() ? options : spec_.unrecognized_values, "."),
                      false};
      return r;
    }
    if (once) return r;
    ctx.session.plugin_state[spec_.state_key] = value;
    std::string ack = spec_.default_ack;
    for (const auto& [v, text] : spec_.acks)
      if (v == value) ack = text;
    r.ack = absl::StrReplaceAll(ack, {{"{}", value}});
    return r;
  }

 private:
  SettingSpec spec_;
};

}  // namespace

std::unique_ptr<Plugin> MakeSettingPlugin(SettingSpec spec) { return std::make_unique<SettingPlugin>(std::move(spec)); }

}  // namespace modelpin
