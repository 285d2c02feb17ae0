// libFuzzer target for the service's request router and JSON handlers (service/router.cc,
// service/api.cc) behind a whole engine over a scratch copy of fixtures/state. The input is one
// request: the first byte picks the method, the text up to the first '\n' is the target (path and
// query), the rest is the body. Invariants: every answer is one JSON value (valid UTF-8); an
// unknown path is 404, a known path with another method 405; refusals carry {"error": {status,
// message}} with the same status as the answer; no fixture secret ever appears whole.
//
//   CXX=clang++-14 meson setup build-fuzz -Dfuzzers=true -Dcpp_args=-fsanitize=fuzzer-no-link \
//       -Db_sanitize=address,undefined -Db_lundef=false
//   ninja -C build-fuzz test/fuzz/service_fuzz && build-fuzz/test/fuzz/service_fuzz -max_total_time=600
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "base/text.h"
#include "embed/open.h"
#include "rapidjson/document.h"
#include "service/api.h"
#include "service/router.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::fuzz::Check;
namespace svc = modelpin::service;

struct World {
  std::unique_ptr<modelpin::Engine> engine;
  svc::Router router;
};

World* Make() {
  namespace fs = std::filesystem;
  const char* src = std::getenv("MODELPIN_SOURCE_ROOT");
  fs::path from = fs::path(src ? src : MODELPIN_SOURCE_ROOT) / "fixtures" / "state";
  fs::path dir = fs::temp_directory_path() / ("modelpin-service-fuzz-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(from, dir, fs::copy_options::recursive);
  auto* w = new World;
  modelpin::EngineSetup setup;
  setup.state_dir = dir.string();
  setup.sessions = modelpin::EngineSetup::Sessions::kMemory;
  setup.environment = std::map<std::string, std::string>{{"OPENAI_API_KEY", "sk-fuzz-ENVSECRET-0123456789abcdef"}};
  auto engine = modelpin::OpenEngine(std::move(setup));
  Check(engine.ok(), "engine opens");
  w->engine = *std::move(engine);
  svc::RegisterApi(w->router, *w->engine, {});
  return w;
}

constexpr const char* kSecrets[] = {
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
    "ENVSECRET-0123456789abcdef",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = Make();
  if (size == 0) return 0;
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  size_t q = target.find('?');

  svc::Request req;
  req.method = kMethods[data[0] % 5];
  req.path = target.substr(0, q);
  req.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  req.body = body;
  svc::Response res;
  svc::Router::Match m = world->router.Find(req.method, req.path, req.params);
  if (m.route == nullptr) {
    Check(m.status == 404 || m.status == 405 || m.status == 400, "a miss is 400, 404 or 405");
    if (m.status == 405) Check(!m.allow.empty(), "405 names the allowed methods");
    return 0;
  }
  if (m.route->handler) m.route->handler(req, res);
  Check(res.status >= 200 && res.status < 600, "a status");
  Check(modelpin::text::IsValidUtf8(res.body), "the answer is valid UTF-8");
  rapidjson::Document doc;
  doc.Parse(res.body.data(), res.body.size());
  Check(!doc.HasParseError(), "the answer is JSON");
  if (res.status >= 400) {
    Check(doc.IsObject() && doc.HasMember("error") && doc["error"].IsObject(), "an error body");
    Check(doc["error"]["status"].IsInt() && doc["error"]["status"].GetInt() == res.status, "the error's status");
  }
  for (const char* s : kSecrets) Check(res.body.find(s) == std::string::npos, "no secret whole");
  return 0;
}
