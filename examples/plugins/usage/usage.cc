// /nextcall: which model and credentials this session's next call would use, and each profile's
// recent usage and health (last used, error count, cooldown until), masked. An out-of-tree
// modelpin plugin, built against the installed SDK alone:
//
//   g++ -std=c++20 -shared -fPIC -o libusage.so usage.cc $(pkg-config --cflags modelpin-plugin)
//   modelpin chat --plugin ./libusage.so          (or "plugins": {"load": ["libusage.so"]})
//
// It counts how often it was asked in a session field of its own namespace, "nextcall.asked".
#include <ctime>
#include <string>

#include <modelpin/plugin.hpp>

namespace {

// "2026-12-02 04:35 UTC" for a time in ms since the epoch.
std::string Utc(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

class Usage {
 public:
  bool Handle(const modelpin::sdk::Turn& turn, modelpin::sdk::Result& result) {
    std::string out = "Next call: " + std::string(turn.provider()) + "/" + std::string(turn.model());
    if (turn.profile_count() == 0) out += "\nNo credential: the call would fail.";
    for (size_t i = 0; i < turn.profile_count(); ++i) {
      const modelpin::sdk::Profile p = turn.profile(i);
      out += "\n" + std::to_string(i + 1) + ". " + std::string(p.id) + " (" + std::string(p.masked) + ")";
      out += p.last_used_ms ? ", last used " + Utc(p.last_used_ms) : ", never used";
      out += ", " + std::to_string(p.error_count) + (p.error_count == 1 ? " error" : " errors");
      const int64_t until = p.cooldown_until_ms > p.disabled_until_ms ? p.cooldown_until_ms : p.disabled_until_ms;
      out += until > turn.now_ms() ? ", cooling down until " + Utc(until) : ", ready";
    }
    const int asked = std::stoi(std::string(turn.Field("nextcall.asked").value_or("0"))) + 1;
    out += "\nAsked " + std::to_string(asked) + (asked == 1 ? " time" : " times") + " in this session.";
    result.Reply(out);
    result.Set("nextcall.asked", std::to_string(asked));
    return true;
  }
};

const modelpin_command_v1 kCommands[] = {modelpin::sdk::Command(
    "nextcall", "Show the model and credentials the next call would use, with their health.", "/nextcall")};

}  // namespace

MODELPIN_EXPORT_PLUGIN(Usage, "nextcall", "1.0.0", kCommands)
