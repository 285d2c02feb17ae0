// The names of the event kinds (engine/events/events.h), apart from the rest of the events so that
// the config parser (modelpin.webhooks[].events) can check them without the turn pipeline.
#include <string_view>

#include <modelpin/engine/events/events.h>

namespace modelpin {
namespace {

constexpr std::string_view kNames[kEventKinds] = {"pin_changed",      "cooldown_started", "cooldown_ended",
                                                  "profile_disabled", "profile_recovered", "fallback_used",
                                                  "store_failed_over", "budget_warning",  "budget_exhausted"};

}  // namespace

std::string_view EventKindName(EventKind kind) { return kNames[static_cast<int>(kind)]; }

bool ParseEventKind(std::string_view name, EventKind& kind) {
  for (int i = 0; i < kEventKinds; ++i)
    if (kNames[i] == name) {
      kind = static_cast<EventKind>(i);
      return true;
    }
  return false;
}

}  // namespace modelpin
