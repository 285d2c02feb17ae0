#include <modelpin/engine/models/builtin_thinking.h>

#include <modelpin/base/text.h>

namespace modelpin {
namespace {

constexpr std::string_view kBase[] = {"off", "minimal", "low", "medium", "high"};
// Fable 5, Opus 5.5 and Mythos 5 always think.
constexpr std::string_view kAlwaysThinks[] = {"low", "medium", "high", "xhigh", "max"};
constexpr std::string_view kFull[] = {"off", "minimal", "low", "medium", "high", "xhigh", "adaptive", "max"};
constexpr std::string_view kMandatoryAdaptive[] = {"minimal", "low", "medium", "high", "adaptive"};
constexpr std::string_view kAdaptiveMax[] = {"off", "minimal", "low", "medium", "high", "adaptive", "max"};
constexpr std::string_view kOff[] = {"off"};
constexpr std::string_view kGemini[] = {"off", "minimal", "low", "medium", "adaptive", "high"};
constexpr std::string_view kGemini3Pro[] = {"off", "low", "adaptive", "high"};

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// `family` ("claude-fable-5") occurs in `id` as a whole family name: at the start or after '-',
// and not followed by a letter or digit ("claude-fable-5-1" is a Fable 5, "claude-fable-50" not).
bool HasFamily(std::string_view id, std::string_view family) {
  for (size_t pos = id.find(family); pos != std::string_view::npos; pos = id.find(family, pos + 1)) {
    size_t end = pos + family.size();
    if ((pos == 0 || id[pos - 1] == '-') && (end == id.size() || !IsLowerAlnum(id[end]))) return true;
  }
  return false;
}

bool StartsWithFamily(std::string_view id, std::string_view family) {
  return id.substr(0, family.size()) == family && (id.size() == family.size() || !IsLowerAlnum(id[family.size()]));
}

bool IsOpus55(std::string_view id) { return id == "opus-5-5" || StartsWithFamily(id, "claude-opus-5-5"); }
bool IsOpus5(std::string_view id) {
  return IsOpus55(id) || id == "opus" || id == "opus-5" || HasFamily(id, "claude-opus-5");
}

// Gemini 3 "pro" or "flash" ids: "gemini-3-pro...", "gemini-3.1-flash...", and the "-latest"
// names ("gemini-pro-latest", "gemini-flash-lite-latest"), at the start or after '/'.
bool IsGemini3(std::string_view id, std::string_view kind) {
  auto ends_family = [&](size_t at) { return at == id.size() || id[at] == '-'; };
  for (size_t pos = id.find("gemini-"); pos != std::string_view::npos; pos = id.find("gemini-", pos + 1)) {
    if (pos != 0 && id[pos - 1] != '/') continue;
    size_t i = pos + 7;
    if (i < id.size() && id[i] == '3') {
      ++i;
      if (i + 1 < id.size() && id[i] == '.' && id[i + 1] >= '0' && id[i + 1] <= '9') {
        ++i;
        while (i < id.size() && id[i] >= '0' && id[i] <= '9') ++i;
      }
      if (id.substr(i, 1) == "-" && id.substr(i + 1, kind.size()) == kind && ends_family(i + 1 + kind.size())) return true;
    }
    static constexpr std::string_view kLatest[] = {"pro-latest", "flash-latest", "flash-lite-latest"};
    std::string_view rest = id.substr(pos + 7);
    for (std::string_view latest : kLatest)
      if (latest.substr(0, kind.size()) == kind && rest.substr(0, latest.size()) == latest &&
          ends_family(pos + 7 + latest.size()))
        return true;
  }
  return false;
}

std::optional<BuiltinThinking> GoogleThinking(std::string_view model) {
  std::string id = text::ToLower(model);
  const bool pro = IsGemini3(id, "pro");
  const bool gemini3 = pro || IsGemini3(id, "flash");
  return BuiltinThinking{pro ? std::span<const std::string_view>(kGemini3Pro) : std::span<const std::string_view>(kGemini),
                         "", gemini3};
}

}  // namespace

std::string ClaudeModelIdentity(std::string_view model) {
  std::string lower = text::ToLower(text::Trim(model));
  std::string_view rest = lower;
  if (rest.substr(0, 10) == "anthropic/") rest.remove_prefix(10);
  auto separator = [](char c) { return c == '.' || c == '_' || c == ' ' || (c >= '\t' && c <= '\r'); };
  std::string id;
  id.reserve(rest.size());
  for (size_t i = 0; i < rest.size();) {
    if (!separator(rest[i])) {
      id += rest[i++];
      continue;
    }
    id += '-';
    while (i < rest.size() && separator(rest[i])) ++i;
  }
  // The leftmost "claude-..." at the start or after '-' or '/', with no '/' after it.
  for (size_t pos = id.find("claude-"); pos != std::string::npos; pos = id.find("claude-", pos + 1)) {
    bool boundary = pos == 0 || id[pos - 1] == '-' || id[pos - 1] == '/';
    if (boundary && pos + 7 < id.size() && id.find('/', pos) == std::string::npos) return id.substr(pos);
  }
  return id;
}

std::optional<BuiltinThinking> BuiltinThinkingProfile(std::string_view provider, std::string_view model) {
  if (provider == "google") return GoogleThinking(model);
  if (provider != "anthropic" && provider != "claude-cli") return std::nullopt;
  const std::string id = ClaudeModelIdentity(model);
  const bool mythos5 = HasFamily(id, "claude-mythos-5");
  // Claude Code runs Mythos 5 without thinking.
  if (provider == "claude-cli" && mythos5) return BuiltinThinking{kOff, "off"};
  if (IsOpus55(id) || HasFamily(id, "claude-fable-5")) return BuiltinThinking{kAlwaysThinks, "medium", true};
  if (mythos5) return BuiltinThinking{kAlwaysThinks, "high", true};
  if (IsOpus5(id) || HasFamily(id, "claude-sonnet-5")) return BuiltinThinking{kFull, "high"};
  if (HasFamily(id, "claude-mythos-preview")) return BuiltinThinking{kMandatoryAdaptive, "adaptive", true};
  // Native "xhigh" effort: Opus 4.7 and 4.8.
  if (HasFamily(id, "claude-opus-4-7") || HasFamily(id, "claude-opus-4-8")) return BuiltinThinking{kFull, "off"};
  // Adaptive thinking by default, native max effort: Opus 4.6 and Sonnet 4.6.
  if (HasFamily(id, "claude-opus-4-6") || HasFamily(id, "claude-sonnet-4-6"))
    return BuiltinThinking{kAdaptiveMax, "adaptive"};
  return BuiltinThinking{kBase, ""};
}

}  // namespace modelpin
