// Thinking levels are model metadata: which levels a model accepts and which one a session on it
// starts with. modelpin reads them from the config's catalog rows ("thinkingLevels",
// "thinkingDefault", and OpenClaw's "reasoning": false for models that cannot think), then from
// OpenClaw's built-in knowledge of the Claude families (engine/models/builtin_thinking.h), then uses
// OpenClaw's generic profile (off, minimal, low, medium, high).
//
//   ThinkingProfile p = ThinkingProfileFor(catalog, {"anthropic", "claude-fable-5"});
//   p.levels;              // {"low", "medium", "high", "xhigh", "max"}
//   p.Supported("off");    // "low": the level a stored "off" runs at on this model
//   NormalizeThinkingLevel("x-high");  // "xhigh"
#ifndef MODELPIN_ENGINE_MODELS_THINKING_H_
#define MODELPIN_ENGINE_MODELS_THINKING_H_

#include <string>
#include <string_view>
#include <vector>

#include <modelpin/engine/config/config.h>
#include <modelpin/engine/config/thinking_levels.h>

namespace modelpin {

struct ThinkingProfile {
  std::vector<std::string> levels;  // accepted levels, lowest rank first (OpenClaw's order)
  std::string default_level;        // the model's own default; "" when it names none
  std::string start_level;          // where a session with no stored level is

  bool Accepts(std::string_view level) const;
  // The level a request for `level` runs at on this model, as OpenClaw clamps it: the level
  // itself when accepted; "adaptive" becomes the model's default; else the highest level other
  // than "off" ranked at or below it, else the lowest such level, else "off".
  std::string Supported(std::string_view level) const;
};

ThinkingProfile ThinkingProfileFor(const std::vector<CatalogRow>& catalog, const ModelRef& model);

// A /think argument as OpenClaw reads it, case-insensitive: the canonical level for a level or
// one of its spellings ("on" and "think-hard" are low, "x-high" xhigh, "auto" adaptive, "none"
// off, ...), or "" when it is none.
std::string_view NormalizeThinkingLevel(std::string_view raw);

// The arguments that clear the session's level: default, inherit, inherited, clear, reset, unpin.
bool IsThinkingResetWord(std::string_view raw);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_MODELS_THINKING_H_
