#include <modelpin/engine/models/thinking.h>

#include <algorithm>
#include <utility>

#include <modelpin/base/text.h>
#include <modelpin/engine/models/builtin_thinking.h>

namespace modelpin {
namespace {

constexpr std::string_view kGeneric[] = {"off", "minimal", "low", "medium", "high"};

// Sorted by rank, ties in the order given (so "medium" before "adaptive" when listed so), each
// level once; anything that is not a level is dropped.
std::vector<std::string> ByRank(std::vector<std::string> levels) {
  std::vector<std::string> out;
  for (auto& l : levels)
    if (ThinkingRank(l) >= 0 && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(std::move(l));
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return ThinkingRank(a) < ThinkingRank(b); });
  return out;
}

// The catalog row of `model`: the exact one, else one with the same OpenClaw key (ModelRef::Key:
// the id "auto" that "/model auto" selects finds the row "openrouter/auto").
const CatalogRow* FindThinkingRow(const std::vector<CatalogRow>& catalog, const ModelRef& model) {
  for (const auto& r : catalog)
    if (r.ref == model) return &r;
  const std::string key = model.Key();
  for (const auto& r : catalog)
    if (r.ref.provider == model.provider && r.ref.Key() == key) return &r;
  return nullptr;
}

}  // namespace

std::string_view NormalizeThinkingLevel(std::string_view raw) {
  std::string key = text::ToLower(text::Trim(raw));
  if (key.empty()) return "";
  std::string collapsed;
  for (char c : key)
    if (c != '-' && c != '_' && c != ' ' && (c < '\t' || c > '\r')) collapsed += c;
  if (collapsed == "adaptive" || collapsed == "auto") return "adaptive";
  if (collapsed == "max") return "max";
  if (collapsed == "ultra") return "ultra";
  if (collapsed == "xhigh" || collapsed == "extrahigh") return "xhigh";
  if (text::IsOneOf(key, {"off", "none"})) return "off";
  if (text::IsOneOf(key, {"on", "enable", "enabled"})) return "low";
  if (text::IsOneOf(key, {"min", "minimal"})) return "minimal";
  if (text::IsOneOf(key, {"low", "thinkhard", "think-hard", "think_hard"})) return "low";
  if (text::IsOneOf(key, {"mid", "med", "medium", "thinkharder", "think-harder", "harder"})) return "medium";
  if (text::IsOneOf(key, {"high", "ultrathink", "thinkhardest", "highest"})) return "high";
  if (key == "think") return "minimal";
  return "";
}

bool IsThinkingResetWord(std::string_view raw) {
  return text::IsOneOf(text::ToLower(text::Trim(raw)), {"default", "inherit", "inherited", "clear", "reset", "unpin"});
}

bool ThinkingProfile::Accepts(std::string_view level) const {
  return std::find(levels.begin(), levels.end(), level) != levels.end();
}

std::string ThinkingProfile::Supported(std::string_view level) const {
  if (Accepts(level)) return std::string(level);
  if (level == "adaptive" && !default_level.empty() && default_level != "off") return default_level;
  const int want = ThinkingRank(level);
  // Highest first; among equal ranks the listed order stays (as OpenClaw's stable sort).
  std::vector<const std::string*> ranked;
  for (const auto& l : levels) ranked.push_back(&l);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const std::string* a, const std::string* b) { return ThinkingRank(*a) > ThinkingRank(*b); });
  for (const std::string* l : ranked)
    if (*l != "off" && ThinkingRank(*l) <= want) return *l;
  for (auto it = ranked.rbegin(); it != ranked.rend(); ++it)
    if (**it != "off") return **it;
  return "off";
}

ThinkingProfile ThinkingProfileFor(const std::vector<CatalogRow>& catalog, const ModelRef& model) {
  const CatalogRow* row = FindThinkingRow(catalog, model);
  const bool no_reasoning = row && row->reasoning == false;
  const std::optional<BuiltinThinking> builtin = BuiltinThinkingProfile(model.provider, model.model);
  ThinkingProfile p;
  std::vector<std::string> levels;
  if (row && !row->thinking_levels.empty()) {
    levels = row->thinking_levels;
  } else if (builtin && (!no_reasoning || builtin->survives_no_reasoning)) {
    levels.assign(builtin->levels.begin(), builtin->levels.end());
    p.default_level = builtin->default_level;
  } else if (no_reasoning) {
    levels = {"off"};
    p.default_level = "off";
  } else {
    levels.assign(std::begin(kGeneric), std::end(kGeneric));
  }
  p.levels = ByRank(std::move(levels));
  if (row && !row->thinking_default.empty()) p.default_level = row->thinking_default;
  if (!p.Accepts(p.default_level)) p.default_level.clear();
  // A model without a default of its own starts at medium when its row says it reasons.
  if (!p.default_level.empty()) p.start_level = p.default_level;
  else p.start_level = row && row->reasoning == true ? p.Supported("medium") : "off";
  return p;
}

}  // namespace modelpin
