// libFuzzer target for AuthStore: arbitrary bytes must parse or fail with InvalidArgument naming
// the file; whatever parses must survive ToJson() and parse again to the same typed views, twice.
// ToJson() is not checked to be a fixed point: RapidJSON's default (not full-precision) number
// parsing moves a 16-17 digit double by an ulp on every load/save, e.g. an unknown key
// 0.30000000000000004 -> 0.30000000000000007 -> 0.3000000000000001 (found by this target).
//
//   CXX=clang++-14 meson setup build-fuzz-rel -Dfuzzers=true -Dcpp_args=-fsanitize=fuzzer-no-link \
//       -Db_sanitize=address,undefined -Db_lundef=false
//   ninja -C build-fuzz-rel test/fuzz/auth_store_fuzz
//   build-fuzz-rel/test/fuzz/auth_store_fuzz -dict=test/fuzz/json.dict -max_total_time=600 corpus-auth/ fixtures/state/agents/main/agent
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <modelpin/engine/auth/auth_store.h>
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::fuzz::Check;

bool SameCredential(const modelpin::Credential& a, const modelpin::Credential& b) {
  return a.id == b.id && a.type == b.type && a.provider == b.provider && a.secret == b.secret &&
         a.has_secret_ref == b.has_secret_ref && a.refresh == b.refresh && a.expires == b.expires &&
         a.email == b.email;
}

void CheckSameViews(const modelpin::AuthStore& a, const modelpin::AuthStore& b) {
  Check(a.profiles().size() == b.profiles().size(), "round trip keeps the profile count");
  for (size_t i = 0; i < a.profiles().size(); ++i) {
    Check(SameCredential(a.profiles()[i], b.profiles()[i]), "round trip keeps each profile");
    const std::string& id = a.profiles()[i].id;
    const auto ua = a.Usage(id);
    const auto ub = b.Usage(id);
    Check(ua.last_used == ub.last_used && ua.cooldown_until == ub.cooldown_until &&
              ua.disabled_until == ub.disabled_until && ua.error_count == ub.error_count,
          "round trip keeps usage stats");
    const auto* oa = a.Order(a.profiles()[i].provider);
    const auto* ob = b.Order(a.profiles()[i].provider);
    Check((oa == nullptr) == (ob == nullptr) && (oa == nullptr || *oa == *ob), "round trip keeps the order");
    const auto* la = a.LastGood(a.profiles()[i].provider);
    const auto* lb = b.LastGood(a.profiles()[i].provider);
    Check((la == nullptr) == (lb == nullptr) && (la == nullptr || *la == *lb), "round trip keeps lastGood");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto store = modelpin::AuthStore::Parse("fuzz.json", std::move(text));
  if (!store.ok()) {
    modelpin::fuzz::CheckParseError(store.status(), "fuzz.json");
    return 0;
  }
  const std::string json1 = store->ToJson();
  auto again = modelpin::AuthStore::Parse("roundtrip.json", json1);
  if (!again.ok()) {
    std::fprintf(stderr, "re-parse failed: %s\n--- ToJson ---\n%s\n", std::string(again.status().message()).c_str(),
                 json1.c_str());
    std::abort();
  }
  CheckSameViews(*store, *again);
  auto third = modelpin::AuthStore::Parse("roundtrip2.json", again->ToJson());
  Check(third.ok(), "a second round trip parses");
  CheckSameViews(*again, *third);
  return 0;
}
