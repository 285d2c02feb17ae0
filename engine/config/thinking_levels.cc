#include <modelpin/engine/config/thinking_levels.h>

#include <array>
#include <utility>

namespace modelpin {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 9> kRanks = {{{"off", 0},
                                                                       {"minimal", 10},
                                                                       {"low", 20},
                                                                       {"medium", 30},
                                                                       {"adaptive", 30},
                                                                       {"high", 40},
                                                                       {"xhigh", 60},
                                                                       {"max", 70},
                                                                       {"ultra", 80}}};

}  // namespace

const std::vector<std::string>& AllThinkingLevels() {
  static const std::vector<std::string> kAll = [] {
    std::vector<std::string> all;
    for (const auto& [name, rank] : kRanks) all.emplace_back(name);
    return all;
  }();
  return kAll;
}

int ThinkingRank(std::string_view level) {
  for (const auto& [name, rank] : kRanks)
    if (name == level) return rank;
  return -1;
}

}  // namespace modelpin
