#include <modelpin/engine/config/config_keys.h>

#include <algorithm>
#include <map>
#include <string_view>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include <modelpin/base/text.h>
#include <modelpin/engine/config/config.h>

namespace modelpin {
namespace {

using rapidjson::Value;

// The keys the parser reads (see ConfigKey in config.h), one row each, in docs/configuration.md's
// order. Adding a key is one row here.
constexpr ConfigKey kConfigKeys[] = {
    {"agents.defaults.model", "string or object"},
    {"agents.defaults.model.primary", "string"},
    {"agents.defaults.model.fallbacks", "array of strings"},
    {"agents.defaults.imageModel", "string or object"},
    {"agents.defaults.imageModel.primary", "string"},
    {"agents.defaults.imageModel.fallbacks", "array of strings"},
    {"agents.defaults.models", "object"},
    {"agents.defaults.models.*", "object or null"},
    {"agents.defaults.models.*.alias", "string"},
    {"agents.defaults.models.*.authProfile", "string"},
    {"agents.defaults.modelPolicy", "object"},
    {"agents.defaults.modelPolicy.allow", "array of strings"},
    {"agents.defaults.systemAgent", "object"},
    {"agents.defaults.systemAgent.agentId", "string"},
    {"agents.entries", "object"},
    {"agents.entries.*", "object"},
    {"agents.entries.*.model", "string or object"},
    {"agents.entries.*.model.primary", "string"},
    {"agents.entries.*.model.fallbacks", "array of strings"},
    {"agents.entries.*.models", "object"},
    {"agents.entries.*.models.*", "object or null"},
    {"agents.entries.*.models.*.alias", "string"},
    {"agents.entries.*.models.*.authProfile", "string"},
    {"agents.entries.*.modelPolicy", "object"},
    {"agents.entries.*.modelPolicy.allow", "array of strings"},
    {"auth.profiles", "object"},
    {"auth.profiles.*", "object"},
    {"auth.profiles.*.provider", "string"},
    {"auth.profiles.*.mode", "string"},
    {"auth.order", "object"},
    {"auth.order.*", "array of strings"},
    {"models.providers", "object"},
    {"models.providers.*", "object"},
    {"models.providers.*.baseUrl", "string"},
    {"models.providers.*.api", "string"},
    {"models.providers.*.models", "array of objects"},
    {"models.providers.*.models[].id", "string"},
    {"models.providers.*.models[].name", "string"},
    {"models.providers.*.models[].thinkingDefault", "string"},
    {"models.providers.*.models[].thinkingLevels", "array of strings"},
    {"models.providers.*.models[].reasoning", "boolean"},
    {"models.providers.*.models[].status", "string"},
    {"models.providers.*.models[].cost", "object"},
    {"models.providers.*.models[].cost.input", "number"},
    {"models.providers.*.models[].cost.output", "number"},
    {"models.providers.*.models[].cost.cacheRead", "number"},
    {"models.providers.*.models[].cost.cacheWrite", "number"},
    {"commands.ownerAllowFrom", "array of strings"},
    {"commands.botName", "string"},
    {"plugins.load", "array of strings"},
    {"plugins.entries", "object"},
    {"plugins.entries.*", "object"},
    {"plugins.entries.*.config", "object"},
    {"modelpin.strict", "boolean"},
    {"modelpin.masking", "string"},
    {"modelpin.store", "string"},
    {"modelpin.storePrefix", "string"},
    {"modelpin.storeTimeoutMs", "integer"},
    {"modelpin.storeWaitReplicas", "integer"},
    {"modelpin.rotation", "object"},
    {"modelpin.rotation.auth", "string"},
    {"modelpin.rotation.billing", "string"},
    {"modelpin.rotation.rate_limit", "string"},
    {"modelpin.rotation.timeout", "string"},
    {"modelpin.rotation.strategy", "object"},
    {"modelpin.rotation.strategy.*", "string"},
    {"modelpin.rotation.seed", "integer"},
    {"modelpin.rotation.quotaThreshold", "number"},
    {"modelpin.probe", "object"},
    {"modelpin.probe.enabled", "boolean"},
    {"modelpin.probe.intervalMs", "integer"},
    {"modelpin.probe.timeoutMs", "integer"},
    {"modelpin.probe.maxTokens", "integer"},
    {"modelpin.routes", "array of objects"},
    {"modelpin.routes[].name", "string"},
    {"modelpin.routes[].match", "object"},
    {"modelpin.routes[].match.sessionKey", "string"},
    {"modelpin.routes[].match.chatType", "string"},
    {"modelpin.routes[].match.channel", "string"},
    {"modelpin.routes[].model", "string"},
    {"modelpin.routes[].authOrder", "object"},
    {"modelpin.routes[].authOrder.*", "array of strings"},
    {"modelpin.profileAccess", "object"},
    {"modelpin.profileAccess.*", "object"},
    {"modelpin.profileAccess.*.allowFrom", "array of strings"},
    {"modelpin.webhooks", "array of objects"},
    {"modelpin.webhooks[].url", "string"},
    {"modelpin.webhooks[].events", "array of strings"},
    {"modelpin.webhooks[].secret", "string"},
    {"modelpin.budgets", "array of objects"},
    {"modelpin.budgets[].profile", "string"},
    {"modelpin.budgets[].provider", "string"},
    {"modelpin.budgets[].agent", "string"},
    {"modelpin.budgets[].usd", "number"},
    {"modelpin.budgets[].tokens", "number"},
    {"modelpin.budgets[].calls", "number"},
    {"modelpin.budgets[].window", "string"},
    {"modelpin.budgets[].warnAt", "number"},
};

// ConfigKeys() as a tree of path segments, built once: a node's children are its member names,
// "*" (any member) and "[]" (the elements of an array). A node without children is a value the
// parser reads whole.
struct KeyNode {
  std::map<std::string, KeyNode, std::less<>> children;
};

const KeyNode& KeyTree() {
  static const KeyNode* tree = [] {
    auto* root = new KeyNode();
    for (const ConfigKey& key : kConfigKeys) {
      KeyNode* node = root;
      std::string_view rest = key.path;
      while (!rest.empty()) {
        size_t cut = rest.find_first_of(".[");
        std::string_view segment = rest.substr(0, cut);
        if (!segment.empty()) node = &node->children[std::string(segment)];
        if (cut == std::string_view::npos) break;
        if (rest[cut] == '[') {  // "[]"
          node = &node->children["[]"];
          rest.remove_prefix(cut + 2);
          if (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
        } else {
          rest.remove_prefix(cut + 1);
        }
      }
    }
    return root;
  }();
  return *tree;
}

// The edit distance of `a` and `b` ignoring case, a swap of two neighbours counting as one edit
// ("stoer" is one edit from "store").
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = text::LowerAscii(a[i - 1]) == text::LowerAscii(b[j - 1]);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same ? 0 : 1)});
      if (i > 1 && j > 1 && text::LowerAscii(a[i - 1]) == text::LowerAscii(b[j - 2]) &&
          text::LowerAscii(a[i - 2]) == text::LowerAscii(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The refusal of an unknown key under `modelpin`: the nearest known key when one is close (at
// most two edits, or a third of the word), else the keys that can stand there.
absl::Status UnknownModelpinKey(const JsonFile& file, const std::string& path, std::string_view key,
                                const KeyNode& node) {
  std::string best;
  size_t best_distance = std::string::npos;
  std::string names;
  for (const auto& [name, child] : node.children) {
    if (name == "*" || name == "[]") continue;
    absl::StrAppend(&names, names.empty() ? "" : ", ", name);
    size_t d = EditDistance(key.substr(0, 64), name);
    if (d < best_distance) best_distance = d, best = name;
  }
  const size_t longer = std::max(key.size(), best.size());
  std::string hint = !best.empty() && (best_distance <= 2 || best_distance * 3 <= longer)
                         ? absl::StrCat("did you mean \"", best, "\"?")
                         : absl::StrCat("modelpin reads ", names, " here");
  return file.Error(path, absl::StrCat("unknown key \"", text::EchoSafe(key, 40), "\" (", hint, ")"));
}

// Walks the document along KeyTree(): a key under `modelpin` that the tree lacks is an error; one
// elsewhere goes to `ignored` (its members are not visited).
absl::Status CheckKeys(const JsonFile& file, const Value& v, const KeyNode& node, const std::string& path,
                       bool strict, std::vector<std::string>* ignored) {
  if (node.children.empty()) return absl::OkStatus();
  if (v.IsObject()) {
    auto any = node.children.find("*");
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      const std::string member_path = JoinPath(path, name);
      auto child = node.children.find(name);
      if (child == node.children.end()) child = any;
      if (child == node.children.end()) {
        if (strict) return UnknownModelpinKey(file, member_path, name, node);
        ignored->push_back(member_path);
        continue;
      }
      RETURN_IF_ERROR(CheckKeys(file, it->value, child->second, member_path,
                                strict || (path == "$" && name == "modelpin"), ignored));
    }
  } else if (auto elements = node.children.find("[]"); v.IsArray() && elements != node.children.end()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      RETURN_IF_ERROR(CheckKeys(file, v[i], elements->second, absl::StrCat(path, "[", i, "]"), strict, ignored));
  }
  return absl::OkStatus();
}

}  // namespace

std::span<const ConfigKey> ConfigKeys() { return kConfigKeys; }

absl::Status CheckConfigKeys(const JsonFile& file, const Value& root, std::vector<std::string>* ignored) {
  return CheckKeys(file, root, KeyTree(), "$", false, ignored);
}

}  // namespace modelpin
