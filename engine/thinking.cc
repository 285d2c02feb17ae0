#include "engine/thinking.h"

#include <algorithm>

#include "engine/provider_tables.h"

namespace modelpin {
namespace {

int Rank(std::string_view level) {
  const auto& all = AllThinkingLevels();
  auto it = std::find(all.begin(), all.end(), level);
  return it == all.end() ? -1 : static_cast<int>(it - all.begin());
}

}  // namespace

const std::vector<std::string>& AllThinkingLevels() {
  static const std::vector<std::string> kAll = {"off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max"};
  return kAll;
}

bool ThinkingProfile::Accepts(std::string_view level) const {
  return std::find(levels.begin(), levels.end(), level) != levels.end();
}

std::string ThinkingProfile::Remap(std::string_view level) const {
  if (levels.empty() || Accepts(level)) return std::string(level);
  int want = Rank(level);
  std::string best_below, lowest = levels.front(), highest = levels.back();
  int best_rank = -1;
  for (const auto& l : levels) {
    int r = Rank(l);
    if (r < want && r > best_rank) {
      best_rank = r;
      best_below = l;
    }
  }
  if (want < Rank(lowest)) return lowest;
  if (want > Rank(highest)) return highest;
  return best_below.empty() ? lowest : best_below;
}

ThinkingProfile ThinkingProfileFor(const std::vector<CatalogRow>& catalog, const ModelRef& model) {
  ThinkingProfile p;
  for (const auto& row : catalog) {
    if (!(row.ref == model)) continue;
    p.levels = row.thinking_levels;
    p.default_level = row.thinking_default;
    break;
  }
  // OpenClaw's built-in knowledge, else its generic profile, for models whose catalog row says
  // nothing (and ids outside it).
  if (p.levels.empty())
    for (std::string_view l : BuiltinThinkingLevels(model.provider, model.model)) p.levels.emplace_back(l);
  if (p.levels.empty()) p.levels = {"off", "minimal", "low", "medium", "high"};
  if (p.default_level.empty()) {
    std::string_view builtin = BuiltinThinkingDefault(model.provider, model.model);
    p.default_level = builtin.empty() ? "off" : std::string(builtin);
    if (!p.Accepts(p.default_level)) p.levels.push_back(p.default_level);
  }
  return p;
}

}  // namespace modelpin
