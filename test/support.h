// What the Boost.Test suites share beyond golden.h: a config or an auth store parsed from text,
// the test failing with the parser's message when the text does not parse. Include it after
// <boost/test/unit_test.hpp> (whose first include in a test defines the module).
#ifndef MODELPIN_TEST_SUPPORT_H_
#define MODELPIN_TEST_SUPPORT_H_

#include <boost/test/unit_test.hpp>
#include <string>

#include <modelpin/engine/auth/auth_store.h>
#include <modelpin/engine/config/config.h>

namespace modelpin::testing {

inline Config ParseConfig(const std::string& json) {
  auto c = Config::Parse("test.json", json);
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  return *std::move(c);
}

inline AuthStore ParseStore(const std::string& json) {
  auto s = AuthStore::Parse("auth-profiles.json", json);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.status().message());
  return *std::move(s);
}

}  // namespace modelpin::testing

#endif  // MODELPIN_TEST_SUPPORT_H_
