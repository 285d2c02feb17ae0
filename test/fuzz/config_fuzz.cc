// libFuzzer target for Config::Parse: arbitrary bytes must give either a Config or an
// InvalidArgument error whose message names the file; never a crash, hang or other status code.
// Accepted configs are walked (every agent view, the catalog, the auth order) so lazily built
// views are exercised too.
//
//   CXX=clang++-14 meson setup build-fuzz-rel -Dfuzzers=true -Dcpp_args=-fsanitize=fuzzer-no-link \
//       -Db_sanitize=address,undefined -Db_lundef=false
//   ninja -C build-fuzz-rel test/fuzz/config_fuzz
//   build-fuzz-rel/test/fuzz/config_fuzz -dict=test/fuzz/json.dict -max_total_time=600 corpus-config/ fixtures/config
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <modelpin/engine/config/config.h>
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::fuzz::Check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto config = modelpin::Config::Parse("fuzz.json", std::move(text));
  if (!config.ok()) {
    modelpin::fuzz::CheckParseError(config.status(), "fuzz.json");
    return 0;
  }
  const std::string def = config->DefaultAgentId();
  Check(!def.empty(), "a default agent id");
  size_t n = config->Agent(def).models.size();
  for (const std::string& id : config->AgentIds()) {
    const modelpin::AgentView& view = config->Agent(id);
    Check(view.default_models_count <= view.models.size(), "default_models_count within models");
    n += view.fallbacks.size();
  }
  for (const auto& row : config->catalog()) n += row.ref.provider.size();
  for (const auto& [provider, ids] : config->auth_order()) {
    const auto* order = config->AuthOrder(provider);
    Check(order != nullptr, "AuthOrder finds every listed provider");
    n += ids.size();
  }
  for (const auto& p : config->auth_profiles()) Check(config->AuthProfile(p.id) != nullptr, "AuthProfile finds every profile");
  return n == SIZE_MAX ? 1 : 0;
}
