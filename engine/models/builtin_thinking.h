// The thinking profiles OpenClaw's provider plugins know without any catalog: which levels a
// model accepts and where a session on it starts. The Claude families (providers anthropic and
// claude-cli) and Gemini (google) are modelled; other providers use the config's catalog rows or
// the generic profile (engine/models/thinking.h decides).
//
//   auto p = BuiltinThinkingProfile("anthropic", "claude-opus-4-8");
//   p->levels;         // {"off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max"}
//   p->default_level;  // "off"
#ifndef MODELPIN_ENGINE_MODELS_BUILTIN_THINKING_H_
#define MODELPIN_ENGINE_MODELS_BUILTIN_THINKING_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace modelpin {

struct BuiltinThinking {
  std::span<const std::string_view> levels;  // unsorted, as the plugin lists them
  std::string_view default_level;            // "" when the plugin names none
  // Kept even when the catalog row says "reasoning": false (models that always think).
  bool survives_no_reasoning = false;
};

std::optional<BuiltinThinking> BuiltinThinkingProfile(std::string_view provider, std::string_view model);

// The Claude model a model id names, as OpenClaw reads it: lower case, "anthropic/" dropped,
// runs of '.', '_' and spaces as '-', and of a deployment id ("us.anthropic.claude-opus-5-v1")
// only the part from "claude-" on. Exposed for tests.
std::string ClaudeModelIdentity(std::string_view model);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_MODELS_BUILTIN_THINKING_H_
