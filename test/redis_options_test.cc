// Store URLs (modelpin.store) and the store keys of the config: what each accepts, and errors
// that name the bad part with every password masked. The servers themselves are exercised by
// redis_store_test.py and redis_sentinel_test.py.
#define BOOST_TEST_MODULE redis_options
#include <boost/test/unit_test.hpp>

#include <string>

#include <modelpin/engine/config/config.h>
#include <modelpin/engine/sessions/redis_store.h>

namespace modelpin {
namespace {

std::string Err(std::string_view url) {
  auto o = RedisOptions::FromUrl(url);
  BOOST_REQUIRE_MESSAGE(!o.ok(), "accepted: " << url);
  return std::string(o.status().message());
}

BOOST_AUTO_TEST_CASE(sentinel_url) {
  auto o = RedisOptions::FromUrl("redis-sentinel://:pw-S3cret@10.0.0.1:26380,10.0.0.2,[::1]:26381/mymaster?db=3");
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().message());
  BOOST_TEST(o->master_name == "mymaster");
  BOOST_TEST(o->db == 3);
  BOOST_TEST(o->password == "pw-S3cret");
  BOOST_REQUIRE(o->sentinels.size() == 3u);
  BOOST_TEST(o->sentinels[0].host == "10.0.0.1");
  BOOST_TEST(o->sentinels[0].port == 26380);
  BOOST_TEST(o->sentinels[1].host == "10.0.0.2");
  BOOST_TEST(o->sentinels[1].port == 26379);  // Sentinel's default port
  BOOST_TEST(o->sentinels[2].host == "::1");  // connected to without the brackets
  BOOST_TEST(o->Display() == "redis redis-sentinel://:***@10.0.0.1:26380,10.0.0.2:26379,[::1]:26381/mymaster?db=3");

  auto plain = RedisOptions::FromUrl("redis-sentinel://127.0.0.1:26379/m");
  BOOST_REQUIRE(plain.ok());
  BOOST_TEST(plain->db == 0);
  BOOST_TEST(plain->password.empty());
  BOOST_TEST(plain->Display() == "redis redis-sentinel://127.0.0.1:26379/m?db=0");
}

BOOST_AUTO_TEST_CASE(sentinel_url_errors_name_the_part_and_mask_the_password) {
  for (std::string_view url : {"redis-sentinel://:pw-S3cret@h:1", "redis-sentinel://:pw-S3cret@h:1/",
                               "redis-sentinel://:pw-S3cret@h:99999/m", "redis-sentinel://:pw-S3cret@h:1/m?db=x",
                               "redis-sentinel://:pw-S3cret@h:1/m?timeout=3", "redis-sentinel://:pw-S3cret@/m",
                               "redis-sentinel://:pw-S3cret@h:1,:2/m", "redis-sentinel://pw-S3cret@h:1/m"}) {
    std::string e = Err(url);
    BOOST_TEST_INFO(url << " -> " << e);
    BOOST_TEST(e.find("pw-S3cret") == std::string::npos);
    BOOST_TEST(e.find("redis-sentinel://***@") != std::string::npos);
  }
  BOOST_TEST(Err("redis-sentinel://h:1").find("<master-name>") != std::string::npos);
  BOOST_TEST(Err("redis-sentinel://h:99999/m").find("sentinel \"h:99999\": port") != std::string::npos);
  BOOST_TEST(Err("redis-sentinel://h:1/m?timeout=3").find("unknown parameter \"timeout\"") != std::string::npos);
  BOOST_TEST(Err("http://h:1/m").find("redis-sentinel://host:port") != std::string::npos);  // the forms are listed
}

// "[user]:password@" reads the same in both forms; credentials without ':' are refused, masked.
BOOST_AUTO_TEST_CASE(credentials_in_both_url_forms) {
  auto tcp = RedisOptions::FromUrl("redis://alice:pw-S3cret@h:6380/2");
  BOOST_REQUIRE_MESSAGE(tcp.ok(), tcp.status().message());
  BOOST_TEST(tcp->user == "alice");
  BOOST_TEST(tcp->password == "pw-S3cret");
  BOOST_TEST(tcp->host == "h");
  BOOST_TEST(tcp->port == 6380);
  BOOST_TEST(tcp->db == 2);
  auto sentinel = RedisOptions::FromUrl("redis-sentinel://alice:pw-S3cret@h:1/m");
  BOOST_REQUIRE_MESSAGE(sentinel.ok(), sentinel.status().message());
  BOOST_TEST(sentinel->user == "alice");
  BOOST_TEST(sentinel->password == "pw-S3cret");
  BOOST_TEST(sentinel->master_name == "m");
  auto none = RedisOptions::FromUrl("redis://h:1/0");
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(none->user.empty());
  BOOST_TEST(none->password.empty());
  for (std::string_view url : {"redis://pw-S3cret@h:1/0", "redis-sentinel://pw-S3cret@h:1/m"}) {
    std::string e = Err(url);
    BOOST_TEST_INFO(url << " -> " << e);
    BOOST_TEST(e.find("credentials must be :password or user:password") != std::string::npos);
    BOOST_TEST(e.find("pw-S3cret") == std::string::npos);
  }
}

std::string ConfigText(const std::string& modelpin) {
  return R"({"agents": {"defaults": {"model": {"primary": "anthropic/claude-opus-4-5"}}}, "modelpin": )" + modelpin +
         "}";
}

BOOST_AUTO_TEST_CASE(store_wait_replicas) {
  auto c = Config::Parse("c.json", ConfigText(R"({"store": "redis-sentinel://h:1/m", "storeWaitReplicas": 2})"));
  BOOST_REQUIRE_MESSAGE(c.ok(), c.status().message());
  BOOST_TEST(c->store().wait_replicas == 2);
  auto o = ConfiguredRedis(*c);
  BOOST_REQUIRE(o.ok() && o->has_value());
  BOOST_TEST((*o)->wait_replicas == 2);
  BOOST_TEST(Config::Parse("c.json", ConfigText(R"({"store": "redis://h:1/0"})"))->store().wait_replicas == 0);
  for (std::string bad : {"-1", "101", "\"1\"", "1.5"}) {
    auto e = Config::Parse("c.json", ConfigText(R"({"storeWaitReplicas": )" + bad + "}"));
    BOOST_TEST_INFO(bad);
    BOOST_REQUIRE(!e.ok());
    BOOST_TEST(std::string(e.status().message()).find("$.modelpin.storeWaitReplicas") != std::string::npos);
  }
}

}  // namespace
}  // namespace modelpin
