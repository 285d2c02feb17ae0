// A thin, header-only C++ layer over the plain-C plugin ABI (modelpin/plugin_v1.h). It adds
// nothing to the ABI: the shared library it builds is an ordinary modelpin_plugin_v1 plugin.
//
//   #include <modelpin/plugin.hpp>
//
//   class Hello {
//    public:
//     // Called for "/hello ...". Return true when the message is answered.
//     bool Handle(const modelpin::sdk::Turn& turn, modelpin::sdk::Result& result) {
//       result.Reply("Hello from " + std::string(turn.model()));
//       result.Set("hello.count", "1");   // session fields live under "<plugin name>."
//       return true;
//     }
//   };
//   static const modelpin_command_v1 kCommands[] = {
//       modelpin::sdk::Command("hello", "Say hello.", "/hello")};
//   MODELPIN_EXPORT_PLUGIN(Hello, "hello", "1.0.0", kCommands)
//
// The class is constructed once when modelpin loads the plugin (a constructor that throws is an
// init failure, reported with its what()) and destroyed when it unloads. Handle() may be called
// from several threads at once for different sessions. Exceptions never cross the boundary: one
// escaping Handle() counts as "not consumed".
#ifndef MODELPIN_PLUGIN_HPP_
#define MODELPIN_PLUGIN_HPP_

#include <cstdint>
#include <cstdio>
#include <exception>
#include <iterator>
#include <optional>
#include <string_view>

#include <modelpin/plugin_v1.h>

namespace modelpin::sdk {

inline std::string_view View(const modelpin_str& s) {
  return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

// A command without aliases or argument values.
constexpr modelpin_command_v1 Command(const char* name, const char* summary, const char* usage,
                                      bool owner_only = false) {
  return {name, nullptr, 0, summary, usage, nullptr, 0, owner_only ? 1 : 0};
}

// One credential the next model call would try, with its health (times in ms, 0 = never).
struct Profile {
  std::string_view id, provider, type, masked;
  int64_t last_used_ms, cooldown_until_ms, disabled_until_ms, expires_ms;
  int32_t error_count;
};

// The read-only view of a turn. Valid only inside Handle().
class Turn {
 public:
  explicit Turn(const modelpin_turn_v1& t) : t_(t) {}
  std::string_view agent_id() const { return View(t_.agent_id); }
  std::string_view session_key() const { return View(t_.session_key); }
  std::string_view sender() const { return View(t_.sender); }
  std::string_view text() const { return View(t_.text); }
  bool sender_is_owner() const { return t_.sender_is_owner != 0; }
  int64_t now_ms() const { return t_.now_ms; }
  // The route the message would take: provider, model id, and the profiles in order.
  std::string_view provider() const { return View(t_.provider); }
  std::string_view model() const { return View(t_.model); }
  size_t profile_count() const { return t_.profile_count; }
  Profile profile(size_t i) const {
    const modelpin_profile_v1& p = t_.profiles[i];
    return {View(p.id),       View(p.provider),     View(p.type),         View(p.masked),
            p.last_used_ms,   p.cooldown_until_ms,  p.disabled_until_ms,  p.expires_ms,
            p.error_count};
  }
  // A session field of this plugin ("<name>.<field>"), if set.
  std::optional<std::string_view> Field(std::string_view key) const {
    for (size_t i = 0; i < t_.field_count; ++i)
      if (View(t_.fields[i].key) == key) return View(t_.fields[i].value);
    return std::nullopt;
  }

 private:
  const modelpin_turn_v1& t_;
};

// Where the answer goes; modelpin copies each piece at once.
class Result {
 public:
  Result(const modelpin_host_v1* host, modelpin_result_v1* out) : host_(host), out_(out) {}
  void Reply(std::string_view text) { host_->reply(out_, text.data(), text.size(), 0); }
  void Error(std::string_view text) { host_->reply(out_, text.data(), text.size(), 1); }
  void Set(std::string_view key, std::string_view value) {
    host_->set_field(out_, key.data(), key.size(), value.data(), value.size());
  }
  void Erase(std::string_view key) { host_->erase_field(out_, key.data(), key.size()); }

 private:
  const modelpin_host_v1* host_;
  modelpin_result_v1* out_;
};

// The C entry points for a plugin class P (see MODELPIN_EXPORT_PLUGIN).
template <typename P>
struct Adapter {
  static int Init(void** state, char* error, size_t error_size) {
    try {
      *state = new P();
      return 0;
    } catch (const std::exception& e) {
      std::snprintf(error, error_size, "%s", e.what());
    } catch (...) {
      std::snprintf(error, error_size, "unknown exception");
    }
    return 1;
  }
  static void Shutdown(void* state) { delete static_cast<P*>(state); }
  static int Handle(void* state, const modelpin_turn_v1* turn, const modelpin_host_v1* host,
                    modelpin_result_v1* out) {
    try {
      const Turn t(*turn);
      Result r(host, out);
      return static_cast<P*>(state)->Handle(t, r) ? 1 : 0;
    } catch (...) {
      return 0;
    }
  }
  static modelpin_plugin_v1 Describe(const char* name, const char* version, const modelpin_command_v1* commands,
                                     size_t command_count) {
    return {MODELPIN_PLUGIN_ABI_VERSION, sizeof(modelpin_plugin_v1), name, version, commands, command_count,
            Init, Shutdown, Handle};
  }
};

}  // namespace modelpin::sdk

// Exports class `Type` as plugin `name` (its session fields' namespace) with `commands`, an
// array of modelpin_command_v1.
#define MODELPIN_EXPORT_PLUGIN(Type, name, version, commands)                                     \
  extern "C" MODELPIN_PLUGIN_EXPORT const modelpin_plugin_v1* modelpin_plugin(void) {             \
    static const modelpin_plugin_v1 descriptor =                                                  \
        ::modelpin::sdk::Adapter<Type>::Describe(name, version, commands, std::size(commands));   \
    return &descriptor;                                                                           \
  }

#endif  // MODELPIN_PLUGIN_HPP_
