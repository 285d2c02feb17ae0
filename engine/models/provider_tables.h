// Built-in data about providers that OpenClaw ships in code rather than config: the providers
// its bundled plugins declare and the per-provider model id rewrites ("Claude-Sonnet" -> ...).
#ifndef MODELPIN_ENGINE_MODELS_PROVIDER_TABLES_H_
#define MODELPIN_ENGINE_MODELS_PROVIDER_TABLES_H_

#include <span>
#include <string>
#include <string_view>

namespace modelpin {

// Providers known without any config (bundled plugins), sorted.
std::span<const std::string_view> BundledProviders();
bool IsBundledProvider(std::string_view provider);

// Applies the provider's id rewrite table to `model` (e.g. anthropic "haiku" ->
// "claude-haiku-4-5", openrouter "auto" -> "openrouter/auto"). Returns the model unchanged when
// no rule applies.
std::string NormalizeModelId(std::string_view provider, std::string_view model);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_MODELS_PROVIDER_TABLES_H_
