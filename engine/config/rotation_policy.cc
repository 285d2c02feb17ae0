#include <modelpin/engine/config/rotation_policy.h>

#include <array>

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 5> kStrategyNames = {"round_robin", "fill_first", "least_used", "random",
                                                            "quota_aware"};

}  // namespace

std::string_view StrategyName(Strategy s) { return kStrategyNames[static_cast<size_t>(s)]; }

std::optional<Strategy> ParseStrategy(std::string_view name) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i)
    if (kStrategyNames[i] == name) return static_cast<Strategy>(i);
  return std::nullopt;
}

Strategy RotationPolicy::StrategyFor(std::string_view auth_provider) const {
  if (strategy.empty()) return Strategy::kRoundRobin;
  if (auto it = strategy.find(auth_provider); it != strategy.end()) return it->second;
  if (auto it = strategy.find("*"); it != strategy.end()) return it->second;
  return Strategy::kRoundRobin;
}

}  // namespace modelpin
