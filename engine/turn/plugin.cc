#include <modelpin/engine/turn/plugin.h>

#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include <modelpin/base/text.h>

namespace modelpin {

namespace {

// "the built-in plugin \"model\"" or "plugin \"usage\" from plugins/libusage.so".
std::string Describe(const Plugin& p) {
  if (p.source().empty()) return absl::StrCat("the built-in plugin \"", std::string(p.name()), "\"");
  return absl::StrCat("plugin \"", std::string(p.name()), "\" from ", std::string(p.source()));
}

// The file behind a plugin's source, to tell the same file named two ways ("./libx.so",
// "/abs/libx.so", a symlink): its device and inode. nullopt when it cannot be looked at.
std::optional<std::pair<dev_t, ino_t>> FileId(std::string_view source) {
  struct stat st;
  if (source.empty() || ::stat(std::string(source).c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

}  // namespace

std::string PinChange::ScopeText() const {
  if (scope == grammar::PinLimitKind::kNone) return {};
  std::string text(grammar::PinLimitOption(scope));
  if (!scope_value.empty()) text.append(" ").append(scope_value);
  return text;
}

absl::Status PluginRegistry::Add(std::shared_ptr<const Plugin> plugin) {
  if (!plugin) return absl::InvalidArgumentError("no plugin to add");
  if (auto id = FileId(plugin->source())) {
    for (const auto& p : plugins_)
      if (FileId(p->source()) == id)
        return absl::AlreadyExistsError(absl::StrCat(std::string(plugin->source()), ": plugin file loaded twice (already loaded as ",
                                                     std::string(p->source()), ")"));
  }
  for (const auto& p : plugins_)
    if (p->name() == plugin->name())
      return absl::AlreadyExistsError(absl::StrCat(Describe(*plugin), ": the name \"", std::string(plugin->name()),
                                                   "\" is taken by ", Describe(*p)));
  std::vector<CommandInfo> commands = plugin->Commands();
  std::vector<std::string> words;
  for (const auto& c : commands) {
    words.push_back(text::ToLower(c.name));
    for (const auto& a : c.aliases) words.push_back(text::ToLower(a));
  }
  for (const std::string& w : words) {
    if (w.empty()) return absl::InvalidArgumentError(absl::StrCat(Describe(*plugin), ": a command word is empty"));
    if (!IsCommandWord(w)) continue;
    const Plugin* owner = nullptr;  // the plugin that has the word already
    for (const auto& p : plugins_)
      for (const auto& c : p->Commands()) {
        if (text::ToLower(c.name) == w) owner = p.get();
        for (const auto& a : c.aliases)
          if (text::ToLower(a) == w) owner = p.get();
      }
    std::string from = plugin->source().empty() ? absl::StrCat("of ", Describe(*plugin))
                                                : absl::StrCat("from ", std::string(plugin->source()), " (plugin \"",
                                                               std::string(plugin->name()), "\")");
    return absl::AlreadyExistsError(
        absl::StrCat("/", w, " ", from, " clashes with ", owner ? Describe(*owner) : "another plugin"));
  }
  for (auto& w : words) words_.insert(std::lower_bound(words_.begin(), words_.end(), w), std::move(w));
  commands_.insert(commands_.end(), std::make_move_iterator(commands.begin()), std::make_move_iterator(commands.end()));
  if (plugin->ObservesRoutes()) route_observers_.push_back(plugin.get());
  if (plugin->ObservesOutcomes()) outcome_observers_.push_back(plugin.get());
  plugins_.push_back(std::move(plugin));
  return absl::OkStatus();
}

bool PluginRegistry::IsCommandWord(std::string_view word) const {
  return std::binary_search(words_.begin(), words_.end(), word);
}

}  // namespace modelpin
