// A provider/model pair and the string forms OpenClaw gives it.
#ifndef MODELPIN_ENGINE_CONFIG_MODEL_REF_H_
#define MODELPIN_ENGINE_CONFIG_MODEL_REF_H_

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace modelpin {

struct ModelRef {
  std::string provider;  // lower case
  std::string model;     // case kept; may contain '/'

  bool empty() const { return provider.empty() && model.empty(); }
  // "provider/model", never collapsed: "openrouter/openrouter/auto".
  std::string Label() const { return absl::StrCat(provider, "/", model); }
  // OpenClaw's model key: the model id alone when it already starts with "<provider>/"
  // (case-insensitively), else "provider/model". "openrouter"+"openrouter/auto" -> "openrouter/auto".
  std::string Key() const;
  friend bool operator==(const ModelRef&, const ModelRef&) = default;
};

// Splits "provider/model" at the first '/' (provider lower-cased). A string without '/' gets
// `default_provider`. Used for config keys, which are trusted to be well-formed.
ModelRef ParseConfigRef(std::string_view text, std::string_view default_provider = "anthropic");

// Provider ids after OpenClaw's auth aliasing and lower-casing: "claude-cli" -> "anthropic".
std::string AuthProvider(std::string_view provider);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_MODEL_REF_H_
