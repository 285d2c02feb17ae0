// Run-time plugins: a shared library that speaks the plain-C ABI of sdk/modelpin/plugin_v1.h or
// plugin_v2.h (docs/plugins.md), wrapped as a Plugin the engine runs after its built-in ones.
//
//   modelpin::PluginRegistry plugins = modelpin::BuiltinPlugins();
//   auto usage = modelpin::LoadPlugin("plugins/libusage.so");   // error: names the file
//   if (!usage.ok()) return usage.status();
//   RETURN_IF_ERROR(plugins.Add(*std::move(usage)));
//
// The engine calls such a plugin for a message whose text (other plugins' directives removed)
// starts with one of its command words. It checks everything that comes back: replies must be
// valid UTF-8 of at most 16 KiB, field changes must stay in the plugin's namespace
// ("<name>.<field>", stored in SessionState::plugin_state). Anything malformed turns into an
// error reply, and the session stays as it was before the message.
#ifndef MODELPIN_ENGINE_TURN_PLUGIN_LOADER_H_
#define MODELPIN_ENGINE_TURN_PLUGIN_LOADER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include <modelpin/engine/turn/plugin.h>

extern "C" {
struct modelpin_plugin_v1;
struct modelpin_plugin_v2;
}

namespace modelpin {

// The plugin ABI versions this build loads: 1 (sdk/modelpin/plugin_v1.h) and 2 (plugin_v2.h).
inline constexpr uint32_t kPluginAbiVersion = 2;
inline constexpr uint32_t kOldestPluginAbiVersion = 1;
// Limits on what a run-time plugin may return for one message.
inline constexpr size_t kPluginMaxReplyBytes = 16 * 1024;
inline constexpr size_t kPluginMaxReplies = 16;
inline constexpr size_t kPluginMaxFieldChanges = 64;
inline constexpr size_t kPluginMaxFieldKeyBytes = 128;
inline constexpr size_t kPluginMaxFieldValueBytes = 4 * 1024;
inline constexpr size_t kPluginMaxFields = 64;  // fields a plugin keeps in one session

// Checks that `path` (a path without '/' means the current folder) is a whole ELF shared object
// of this machine (class, byte order, machine; headers, segments, section table and sections
// inside the file: dlopen of a truncated file dies of SIGBUS), dlopen()s it, finds
// `modelpin_plugin`, checks the descriptor and runs its init. Errors name the file: truncated,
// foreign or not a shared library, not loadable, not a plugin, another ABI version (both
// versions named), a malformed descriptor (for ABI 2 also a struct_size or stride too small, an
// unknown directive effect), a capability or host version it needs that this modelpin lacks, an
// init failure with its reason. An ABI 2 plugin's create() receives its section of `config`
// (plugins.entries.<name>.config, "{}" without one; nullptr: no config); a section for an ABI 1
// plugin, which cannot take one, is an error.
absl::StatusOr<std::shared_ptr<const Plugin>> LoadPlugin(const std::string& path, const Config* config = nullptr);

// The same checks on a descriptor already in this process (a plugin linked in statically, a
// test's). `label` names it in errors. The descriptor must outlive the returned plugin.
absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v1* descriptor,
                                                                   const std::string& label,
                                                                   const Config* config = nullptr);
absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(const modelpin_plugin_v2* descriptor,
                                                                   const std::string& label,
                                                                   const Config* config = nullptr);
// No descriptor (what a plugin's entry returned): "not a modelpin plugin".
absl::StatusOr<std::shared_ptr<const Plugin>> PluginFromDescriptor(std::nullptr_t, const std::string& label,
                                                                   const Config* config = nullptr);

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_TURN_PLUGIN_LOADER_H_
