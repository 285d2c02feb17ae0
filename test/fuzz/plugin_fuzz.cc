// libFuzzer target for the run-time plugin boundary (engine/turn/plugin_loader.cc). The input is a
// script for an in-process plugin "fz": the first byte chooses descriptor faults (another ABI
// version, a short struct, a bad name, a bad command word); the rest is what its handle() returns
// through the host callbacks (replies, field sets and erases with arbitrary bytes and sizes, then
// consumed or not). Invariants: a malformed descriptor is an error, never a crash; every reply is
// valid UTF-8 of at most 16 KiB; fields outside "fz." never change; when the plugin is refused
// ("Plugin fz failed") the session is exactly as before.
//
//   CXX=clang++-14 meson setup build-fuzz -Dfuzzers=true -Dcpp_args=-fsanitize=fuzzer-no-link \
//       -Db_sanitize=address,undefined -Db_lundef=false
//   ninja -C build-fuzz test/fuzz/plugin_fuzz && build-fuzz/test/fuzz/plugin_fuzz -max_total_time=600
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <modelpin/base/text.h>
#include <modelpin/engine/turn/engine.h>
#include <modelpin/engine/turn/plugin_loader.h>
#include <modelpin/plugin_v1.h>
#include <modelpin/plugin_v2.h>
#include <modelpin/plugins/builtin.h>
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::fuzz::Check;

// The script handle() plays, for the current input.
const uint8_t* g_data = nullptr;
size_t g_size = 0;

struct Reader {
  size_t pos = 0;
  bool more() const { return pos < g_size; }
  uint8_t byte() { return more() ? g_data[pos++] : 0; }
  // A length, mostly short, sometimes huge (oversized replies), and a slice of the input.
  size_t length() {
    uint8_t b = byte();
    if (b == 0xff) return 17 * 1024;
    if (b == 0xfe) return static_cast<size_t>(byte()) * 256;
    return b % 64;
  }
  std::string bytes(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(more() ? g_data[pos++] : 'x');
    return s;
  }
};

int Handle(void*, const modelpin_turn_v1* turn, const modelpin_host_v1* host, modelpin_result_v1* out) {
  Check(turn->struct_size == sizeof(modelpin_turn_v1), "turn struct_size");
  for (size_t i = 0; i < turn->field_count; ++i)
    Check(std::strncmp(turn->fields[i].key.data, "fz.", 3) == 0, "turn shows only its own fields");
  Reader r{1};
  for (int op = 0; op < 64 && r.more(); ++op) {
    switch (r.byte() % 6) {
      case 0: {
        std::string t = r.bytes(r.length());
        host->reply(out, t.data(), t.size(), r.byte() & 1);
        break;
      }
      case 1: case 2: {
        std::string k = (r.byte() & 1 ? "fz." : "") + r.bytes(r.length());
        std::string v = r.bytes(r.length());
        host->set_field(out, k.data(), k.size(), v.data(), v.size());
        break;
      }
      case 3: {
        std::string k = (r.byte() & 1 ? "fz." : "") + r.bytes(r.length());
        host->erase_field(out, k.data(), k.size());
        break;
      }
      case 4: host->reply(out, nullptr, r.byte(), 0); break;  // NULL with a size
      case 5: return r.byte() & 1;
    }
  }
  return 1;
}

const char* const kAliases[] = {"fuzz"};
const modelpin_command_v1 kGood[] = {{"fz", kAliases, 1, "Fuzz.", "/fz", nullptr, 0, 0}};
const modelpin_command_v1 kBadWord[] = {{"Fz Z", nullptr, 0, "Fuzz.", "/fz", nullptr, 0, 0}};

modelpin::Engine& TheEngine() {
  static std::unique_ptr<modelpin::Engine> engine = [] {
    static const modelpin_plugin_v1 d = {MODELPIN_PLUGIN_ABI_VERSION, sizeof(modelpin_plugin_v1), "fz", "1",
                                         kGood, 1, nullptr, nullptr, Handle};
    modelpin::EngineOptions o{.plugins = modelpin::BuiltinPlugins()};
    o.environment = std::map<std::string, std::string>{};
    Check(o.plugins.Add(*modelpin::PluginFromDescriptor(&d, "fz")).ok(), "fz plugin added");
    auto e = modelpin::Engine::Create(modelpin::Config::Empty(), nullptr, o);
    Check(e.ok(), "engine");
    return *std::move(e);
  }();
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  g_data = data;
  g_size = size;
  const uint8_t mode = size > 0 ? data[0] : 0;
  // ABI 2 descriptor faults: each must be refused with an error naming the label.
  if (mode % 16 == 15) {
    static const modelpin_command_v2 kGood2[] = {
        {sizeof(modelpin_command_v2), "fz2", nullptr, 0, "Fuzz.", "/fz2", nullptr, 0, 0, MODELPIN_DIRECTIVE_NONE, 0}};
    modelpin_command_v2 command = kGood2[0];
    modelpin_plugin_v2 d = {MODELPIN_PLUGIN_ABI_V2, sizeof(modelpin_plugin_v2), MODELPIN_PLUGIN_ABI_V2_MINOR, 0,
                            MODELPIN_CAP_REPLY, "fz2", "1", &command, 1, sizeof(modelpin_command_v2),
                            nullptr, nullptr,
                            [](void*, const modelpin_turn_v2*, const modelpin_host_v2*, modelpin_result_v2*) { return 0; },
                            nullptr, nullptr};
    const uint8_t arg = size > 1 ? data[1] : 0;
    switch ((mode >> 4) % 8) {
      case 0: d.struct_size = arg % (offsetof(modelpin_plugin_v2, on_outcome) + 1); break;
      case 1: d.command_stride = arg % sizeof(modelpin_command_v2); break;
      case 2: command.struct_size = arg % 8; break;
      case 3: d.required_capabilities |= uint64_t{1} << (7 + arg % 57); break;
      case 4: command.directive = 3 + arg; break;
      case 5: d.min_host_version = 1000000u * (1 + arg); break;
      case 6: d.commands = nullptr; break;
      case 7: command.directive_args = 9 + arg; break;
    }
    auto p = modelpin::PluginFromDescriptor(&d, "fuzz-label");
    Check(!p.ok(), "a faulty ABI 2 descriptor is refused");
    Check(p.status().message().find("fuzz-label") != absl::string_view::npos, "errors name the plugin");
    return 0;
  }
  // Descriptor faults: each must be refused with an error naming the label.
  if (mode % 8 == 7) {
    modelpin_plugin_v1 d = {MODELPIN_PLUGIN_ABI_VERSION, sizeof(modelpin_plugin_v1), "fz", "1", kGood, 1,
                            nullptr, nullptr, Handle};
    switch ((mode >> 3) % 5) {
      case 0: d.abi_version = 2 + (mode >> 6); break;
      case 1: d.struct_size = mode >> 3; break;
      case 2: d.name = "F Z"; break;
      case 3: d.commands = kBadWord; break;
      case 4: d.commands = nullptr; break;
    }
    auto p = modelpin::PluginFromDescriptor(&d, "fuzz-label");
    Check(!p.ok(), "a faulty descriptor is refused");
    Check(p.status().message().find("fuzz-label") != absl::string_view::npos, "errors name the plugin");
    return 0;
  }
  modelpin::Engine& e = TheEngine();
  // A session with a field of another plugin and one of its own.
  modelpin::SessionState before = *e.Session("main", "s");
  const std::string other = before.plugin_state.count("verboseLevel") ? before.plugin_state["verboseLevel"] : "";
  auto o = e.Handle({.session_key = "s", .text = (mode & 8) ? "/fuzz go" : "/fz"});
  Check(o.ok(), "handled");
  bool refused = false;
  for (const auto& r : o->replies) {
    Check(modelpin::text::IsValidUtf8(r.text) && r.text.size() <= 16 * 1024, "replies are valid and bounded");
    refused = refused || r.text.rfind("Plugin fz failed", 0) == 0;
  }
  if (refused) Check(o->session == before, "a refused plugin leaves the session as it was");
  for (const auto& [k, v] : o->session.plugin_state) {
    if (k.rfind("fz.", 0) == 0) Check(modelpin::text::IsValidUtf8(k) && modelpin::text::IsValidUtf8(v), "fields are UTF-8");
    else Check(k == "verboseLevel" && v == other, "fields outside fz. never change");
  }
  return 0;
}
