// Thinking levels are model metadata: which levels a model accepts and which one a session on it
// starts with. OpenClaw keeps them in its built-in catalog; modelpin reads them from the config's
// catalog rows ("thinkingLevels", "thinkingDefault"), with OpenClaw's generic profile as fallback.
//
//   ThinkingProfile p = ThinkingProfileFor(catalog, {"anthropic", "claude-fable-5"});
//   p.levels;              // {"low", "medium", "high", "xhigh", "max"}
//   p.Remap("off");        // "low": the nearest level the model accepts
#ifndef MODELPIN_ENGINE_THINKING_H_
#define MODELPIN_ENGINE_THINKING_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/config.h"

namespace modelpin {

struct ThinkingProfile {
  std::vector<std::string> levels;  // accepted levels, in OpenClaw's order
  std::string default_level;        // "off" when the model does not think by default

  bool Accepts(std::string_view level) const;
  // The accepted level nearest to `level` (below the lowest: the lowest; above the highest:
  // the highest; in between: the nearest lower one).
  std::string Remap(std::string_view level) const;
};

// Every level any model may accept, lowest to highest ("adaptive" sorts with the others by
// OpenClaw's order: off, minimal, low, medium, high, xhigh, adaptive, max).
const std::vector<std::string>& AllThinkingLevels();

ThinkingProfile ThinkingProfileFor(const std::vector<CatalogRow>& catalog, const ModelRef& model);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_THINKING_H_
