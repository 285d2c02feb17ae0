// What the tests that open an engine the way a client does (embed/open.h OpenEngine) share: a
// temp folder of their own, and the engine on it with the test's clock, no provider keys from the
// environment and the auth files re-read on every message (events_test, quota_test).
#ifndef MODELPIN_TEST_OPEN_FOR_TEST_H_
#define MODELPIN_TEST_OPEN_FOR_TEST_H_

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include <modelpin/base/clock.h>
#include <modelpin/embed/open.h>

namespace modelpin::testing {

// A new empty folder, "<tmp>/modelpin-<name>-XXXXXX"; the caller removes it.
inline std::string MakeTempDir(const std::string& name) {
  std::string t = (std::filesystem::temp_directory_path() / ("modelpin-" + name + "-XXXXXX")).string();
  BOOST_REQUIRE(::mkdtemp(t.data()) != nullptr);
  return t;
}

// `setup` (its sessions, events, plugins as the test wants) opened on `dir` with `clock`;
// fails the test, naming why, when it does not open.
inline std::unique_ptr<Engine> OpenForTest(const std::string& dir, std::shared_ptr<const Clock> clock, EngineSetup setup) {
  setup.state_dir = dir;
  setup.clock = std::move(clock);
  setup.environment = std::map<std::string, std::string>{};
  setup.auth_recheck_ms = 0;
  auto e = OpenEngine(std::move(setup));
  BOOST_REQUIRE_MESSAGE(e.ok(), e.status().message());
  return *std::move(e);
}

}  // namespace modelpin::testing

#endif  // MODELPIN_TEST_OPEN_FOR_TEST_H_
