#include "engine/turn/plugin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/text.h"

namespace modelpin {

absl::Status PluginRegistry::Add(std::shared_ptr<const Plugin> plugin) {
  if (!plugin) return absl::InvalidArgumentError("no plugin to add");
  std::vector<CommandInfo> commands = plugin->Commands();
  std::vector<std::string> words;
  for (const auto& c : commands) {
    words.push_back(text::ToLower(c.name));
    for (const auto& a : c.aliases) words.push_back(text::ToLower(a));
  }
  for (const auto& w : words) {
    if (w.empty()) return absl::InvalidArgumentError(absl::StrCat("plugin ", std::string(plugin->name()), ": a command word is empty"));
    if (IsCommandWord(w))
      return absl::AlreadyExistsError(
          absl::StrCat("plugin ", std::string(plugin->name()), ": command /", w, " is taken by another plugin"));
  }
  for (auto& w : words) words_.insert(std::lower_bound(words_.begin(), words_.end(), w), std::move(w));
  commands_.insert(commands_.end(), std::make_move_iterator(commands.begin()), std::make_move_iterator(commands.end()));
  plugins_.push_back(std::move(plugin));
  return absl::OkStatus();
}

bool PluginRegistry::IsCommandWord(std::string_view word) const {
  return std::binary_search(words_.begin(), words_.end(), word);
}

}  // namespace modelpin
