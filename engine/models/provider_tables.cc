#include <modelpin/engine/models/provider_tables.h>

#include <algorithm>
#include <array>

#include <modelpin/base/text.h>

namespace modelpin {
namespace {

constexpr std::array<std::string_view, 25> kBundled = {
    "anthropic", "apple-fm",   "clawrouter", "copilot-proxy", "fal",       "github-copilot", "google",
    "google-gemini-cli", "google-vertex", "huggingface", "litellm", "lmstudio", "microsoft-foundry",
    "minimax", "minimax-portal", "nvidia", "ollama", "ollama-cloud", "openai", "opencode-go",
    "openrouter", "sglang", "together", "vllm", "xai"};

struct Rewrite {
  std::string_view from;  // lower case
  std::string_view to;
};

constexpr Rewrite kAnthropic[] = {
    {"fable", "claude-fable-5-1"},     {"fable-5", "claude-fable-5"},     {"fable-5.1", "claude-fable-5-1"},
    {"fable-5-1", "claude-fable-5-1"}, {"haiku", "claude-haiku-4-5"},     {"opus-5.5", "claude-opus-5-5"},
    {"opus-5-5", "claude-opus-5-5"},   {"opus-5", "claude-opus-5"},       {"opus", "claude-opus-5"},
    {"opus-4.8", "claude-opus-4-8"},   {"opus-4.7", "claude-opus-4-7"},   {"opus-4.6", "claude-opus-4-6"},
    {"mythos-5", "claude-mythos-5"},   {"sonnet-5", "claude-sonnet-5"},   {"sonnet", "claude-sonnet-5"},
    {"sonnet-4.6", "claude-sonnet-4-6"},
};

constexpr Rewrite kGoogle[] = {
    {"gemini-3-pro", "gemini-3.1-pro-preview"},
    {"gemini-3-pro-preview", "gemini-3.1-pro-preview"},
    {"gemini-3.1-pro", "gemini-3.1-pro-preview"},
    {"gemini-3-flash", "gemini-3-flash-preview"},
    {"gemini-3.1-flash", "gemini-3-flash-preview"},
    {"gemini-3.1-flash-preview", "gemini-3-flash-preview"},
    {"gemini-3.1-flash-lite-preview", "gemini-3.1-flash-lite"},
    {"gemma-4-26b", "gemma-4-26b-a4b-it"},
};

template <size_t N>
std::string Lookup(const Rewrite (&table)[N], std::string_view model) {
  std::string lower = text::ToLower(model);
  for (const auto& r : table)
    if (r.from == lower) return std::string(r.to);
  return std::string(model);
}

}  // namespace

std::span<const std::string_view> BundledProviders() { return kBundled; }

bool IsBundledProvider(std::string_view provider) {
  return std::binary_search(kBundled.begin(), kBundled.end(), provider);
}

std::string NormalizeModelId(std::string_view provider, std::string_view model) {
  if (provider == "anthropic") {
    if (text::StartsWithLower(model, "anthropic/")) model.remove_prefix(10);
    return Lookup(kAnthropic, model);
  }
  if (provider == "openrouter" || provider == "nvidia") {
    if (model.find('/') == std::string_view::npos) return std::string(provider) + "/" + std::string(model);
    return std::string(model);
  }
  if (provider == "google") return Lookup(kGoogle, model);
  return std::string(model);
}

}  // namespace modelpin
