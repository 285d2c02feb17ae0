#include "plugins/think/think_plugin.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "grammar/text.h"

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 6> kLevels = {"off", "minimal", "low", "medium", "high", "xhigh"};

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

class ThinkPlugin : public Plugin {
 public:
  std::string_view name() const override { return "think"; }
  std::vector<std::string> Words(const AgentView&) const override { return {"think"}; }

  std::optional<DirectiveHit> FindDirective(std::string_view text, const TurnContext&) const override {
    auto d = FindThinkDirective(text);
    if (!d) return std::nullopt;
    return DirectiveHit{d->span, *d};
  }

  DirectiveResult ApplyDirective(const DirectiveHit& hit, TurnContext& ctx) const override {
    const auto& d = std::any_cast<const ThinkDirective&>(hit.payload);
    DirectiveResult r;
    if (!d.level) {
      r.query = Reply{absl::StrCat("Current thinking level: ", ctx.session.thinking_level.value_or("off"), "."), false};
      return r;
    }
    std::string level = text::ToLower(*d.level);
    if (level == "default") {
      ctx.session.thinking_level.reset();
      r.ack = "Thinking level reset to default.";
      return r;
    }
    bool known = false;
    for (auto l : kLevels) known = known || l == level;
    if (!known) {
      r.error = Reply{absl::StrCat("Unrecognized thinking level \"", *d.level,
                                   "\". Valid levels: off, minimal, low, medium, high, xhigh."),
                      true};
      return r;
    }
    if (level == "off") {
      ctx.session.thinking_level = "off";
      r.ack = "Thinking disabled.";
    } else {
      ctx.session.thinking_level = level;
      r.ack = absl::StrCat("Thinking level set to ", level, ".");
    }
    return r;
  }
};

}  // namespace

std::optional<ThinkDirective> FindThinkDirective(std::string_view text) {
  auto word = grammar::FindWord(text, "think");
  if (!word) return std::nullopt;
  ThinkDirective d;
  size_t i = word->end;
  size_t j = i;
  while (size_t n = text::SpaceAt(text, j)) j += n;
  if (j < text.size() && text[j] == ':') i = j + 1;
  size_t k = i;
  while (size_t n = text::SpaceAt(text, k)) k += n;
  size_t start = k;
  while (k < text.size() && IsLetter(text[k])) ++k;
  bool at_boundary = k == text.size() || text::SpaceAt(text, k) > 0;
  if (k > start && (k == i ? false : true) && at_boundary && start > i) {
    d.level = std::string(text.substr(start, k - start));
    i = k;
  }
  d.span = {word->begin, i};
  return d;
}

std::unique_ptr<Plugin> MakeThinkPlugin() { return std::make_unique<ThinkPlugin>(); }

}  // namespace modelpin
