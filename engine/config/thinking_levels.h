// The canonical thinking levels and OpenClaw's ranks of them: the vocabulary the config checks
// catalog rows against ("thinkingDefault", "thinkingLevels") and engine/models/thinking.h orders
// a model's levels by.
#ifndef MODELPIN_ENGINE_CONFIG_THINKING_LEVELS_H_
#define MODELPIN_ENGINE_CONFIG_THINKING_LEVELS_H_

#include <string>
#include <string_view>
#include <vector>

namespace modelpin {

// Every canonical level, lowest rank first: off, minimal, low, medium, adaptive, high, xhigh,
// max, ultra.
const std::vector<std::string>& AllThinkingLevels();

// OpenClaw's rank of a canonical level (off 0 ... high 40, adaptive 30 like medium, xhigh 60,
// max 70, ultra 80), or -1 when `level` is not one.
int ThinkingRank(std::string_view level);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_THINKING_LEVELS_H_
