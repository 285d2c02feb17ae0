// Who changed a session's model or credential pin: the closed set of a pin history event's
// source (PinEvent::source), with its one table of names. The names are the words the history
// stores and what /model history, the pin events and the JSON outputs print (docs/pins.md).
#ifndef MODELPIN_ENGINE_SESSIONS_PIN_SOURCE_H_
#define MODELPIN_ENGINE_SESSIONS_PIN_SOURCE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace modelpin {

enum class PinSource : uint8_t {
  kUser,     // "/model <ref>": a person chose the model or profile
  kReset,    // "/model default": back to the configured default
  kAuto,     // the first profile of the auth order pinned when a message reached the model
  kOrder,    // the automatic pin moved with the auth order (cooldowns, fill_first)
  kExpiry,   // a scoped pin (--once, --turns, --for) ran out
  kUndo,     // "/model undo"
  kInvalid,  // a pin the config or the auth store no longer allows was dropped
  kPlugin,   // another command family's directive changed the selection
};

// The names, in enum order.
inline constexpr std::array<std::pair<PinSource, std::string_view>, 8> kPinSourceNames = {{
    {PinSource::kUser, "user"},
    {PinSource::kReset, "reset"},
    {PinSource::kAuto, "auto"},
    {PinSource::kOrder, "order"},
    {PinSource::kExpiry, "expiry"},
    {PinSource::kUndo, "undo"},
    {PinSource::kInvalid, "invalid"},
    {PinSource::kPlugin, "plugin"},
}};
static_assert(
    [] {
      for (size_t i = 0; i < kPinSourceNames.size(); ++i)
        if (static_cast<size_t>(kPinSourceNames[i].first) != i) return false;
      return true;
    }(),
    "kPinSourceNames lists the sources in enum order");

constexpr std::string_view PinSourceName(PinSource source) {
  return kPinSourceNames[static_cast<size_t>(source)].second;
}

// The source a stored name stands for; nullopt for a name this version does not know.
constexpr std::optional<PinSource> ParsePinSource(std::string_view name) {
  for (const auto& [source, n] : kPinSourceNames)
    if (n == name) return source;
  return std::nullopt;
}

// Whether a person made the change (a directive), not the engine: what /model undo goes back over.
constexpr bool IsPersonChange(PinSource source) {
  return source == PinSource::kUser || source == PinSource::kReset || source == PinSource::kUndo ||
         source == PinSource::kPlugin;
}

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_SESSIONS_PIN_SOURCE_H_
