// libFuzzer target for the service's request router and JSON handlers (service/router.cc,
// service/api.cc) behind a whole engine over a scratch copy of fixtures/state. The input is one
// request. Its first byte picks a route of the API (so most inputs reach a handler); the text up
// to the first '\n' is the route's {parameter} (when it has one), up to the next the query, the
// rest the body. A first byte from 0xf0 on is a raw request instead: the next byte picks the
// method, the text up to '\n' is the whole target. Invariants: every answer is one JSON value (valid UTF-8); an
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

#include <modelpin/base/text.h>
#include <modelpin/embed/open.h>
#include "rapidjson/document.h"
#include <modelpin/service/api.h>
#include <modelpin/service/router.h>
#include "test/fuzz/fuzz_check.h"

namespace {

using modelpin::fuzz::Check;
namespace svc = modelpin::service;

struct World {
  std::unique_ptr<modelpin::Engine> engine;
  svc::Router router;
};

std::filesystem::path g_dir;

World* Make() {
  namespace fs = std::filesystem;
  const char* src = std::getenv("MODELPIN_SOURCE_ROOT");
  fs::path from = fs::path(src ? src : MODELPIN_SOURCE_ROOT) / "fixtures" / "state";
  fs::path dir = fs::temp_directory_path() / ("modelpin-service-fuzz-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::copy(from, dir, fs::copy_options::recursive);
  g_dir = dir;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(g_dir, ec);
  });
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
  // Each documented route as method, path before the parameter, path after it ("" and "" when
  // it has none).
  struct Target {
    const char* method;
    const char* before;
    const char* after;
    bool param;
  };
  static const Target kTargets[] = {
      {"POST", "/v1/turn", "", false},          {"POST", "/v1/outcome", "", false},
      {"GET", "/v1/profiles", "", false},       {"POST", "/v1/cooldowns/clear", "", false},
      {"GET", "/v1/order/", "", true},          {"PUT", "/v1/order/", "", true},
      {"DELETE", "/v1/order/", "", true},       {"GET", "/v1/sessions", "", false},
      {"GET", "/v1/sessions/", "", true},       {"DELETE", "/v1/sessions/", "", true},
      {"GET", "/v1/explain", "", false},        {"GET", "/healthz", "", false},
      {"GET", "/readyz", "", false},
  };
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto next_line = [&in]() {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  std::string path;
  std::string_view query;
  svc::Request req;
  if (data[0] < 0xf0) {
    const Target& t = kTargets[data[0] % (sizeof kTargets / sizeof kTargets[0])];
    req.method = t.method;
    path = t.before;
    if (t.param) path.append(next_line());
    path.append(t.after);
    query = next_line();
  } else {
    req.method = kMethods[(in.empty() ? 0 : static_cast<uint8_t>(in[0])) % 5];
    if (!in.empty()) in.remove_prefix(1);
    std::string_view target = next_line();
    size_t q = target.find('?');
    path = std::string(target.substr(0, q));
    query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  }
  req.path = path;
  req.query = query;
  req.body = in;
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
