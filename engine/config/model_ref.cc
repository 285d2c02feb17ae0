#include <modelpin/engine/config/model_ref.h>

#include <modelpin/base/text.h>

namespace modelpin {

std::string ModelRef::Key() const {
  if (model.size() > provider.size() && model[provider.size()] == '/' &&
      text::StartsWithLower(model, provider)) {
    return model;
  }
  return Label();
}

ModelRef ParseConfigRef(std::string_view text, std::string_view default_provider) {
  text = text::Trim(text);
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return {std::string(default_provider), std::string(text)};
  return {text::ToLower(text.substr(0, slash)), std::string(text.substr(slash + 1))};
}

std::string AuthProvider(std::string_view provider) {
  if (provider == "claude-cli") return "anthropic";
  for (char c : provider)
    if (c >= 'A' && c <= 'Z') return AuthProvider(text::ToLower(provider));
  return std::string(provider);
}

}  // namespace modelpin
