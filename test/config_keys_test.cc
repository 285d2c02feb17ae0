// The config says what it means: the parser's table of keys (ConfigKeys(), engine/config/config.h)
// is the set of keys it reads, docs/configuration.md documents exactly that set with the same
// types, a key under `modelpin` the table lacks is an error naming its JSON path, line:column and
// the nearest known key, and keys elsewhere that modelpin does not read are listed as ignored.
#define BOOST_TEST_MODULE config_keys
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <modelpin/engine/config/config.h>

using namespace modelpin;

namespace {

std::string SourceRoot() {
  const char* env = std::getenv("MODELPIN_SOURCE_ROOT");
  return env && *env ? env : MODELPIN_SOURCE_ROOT;
}

// The rows of docs/configuration.md's tables: key -> type.
std::map<std::string, std::string> DocumentedKeys() {
  std::ifstream in(SourceRoot() + "/docs/configuration.md");
  BOOST_REQUIRE_MESSAGE(in, "docs/configuration.md is missing");
  std::map<std::string, std::string> keys;
  static const std::regex row(R"(^\| `([^`]+)` \| ([^|]+?) \| [^|]+ \| [^|]+ \|$)");
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    BOOST_CHECK_MESSAGE(keys.emplace(m[1], m[2]).second, "documented twice: " << m[1]);
  }
  return keys;
}

// A config holding `path` (wildcards made concrete) with `value` as its value, as JSON text.
// "[]" becomes a one-element array; a catalog row gets the "id" it needs.
std::string ConfigWith(std::string_view path, const std::string& value) {
  std::vector<std::string> segments;
  std::string segment;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '.') {
      if (!segment.empty()) segments.push_back(segment);
      segment.clear();
    } else if (path[i] == '[') {
      if (!segment.empty()) segments.push_back(segment);
      segments.push_back("[]");
      segment.clear();
      ++i;  // ']'
    } else {
      segment += path[i];
    }
  }
  if (!segment.empty()) segments.push_back(segment);
  std::string out = value;
  for (size_t i = segments.size(); i-- > 0;) {
    const std::string& s = segments[i];
    if (s == "[]") {
      out = "[" + out + "]";
      continue;
    }
    std::string name = s == "*" ? "x" : s;
    std::string extra = i > 1 && segments[i - 1] == "[]" && segments[i - 2] == "models" && name != "id" ? R"("id": "m", )" : "";
    out = "{" + extra + "\"" + name + "\": " + out + "}";
  }
  return out;
}

// "$.a.x.b[0].c" for "a.*.b[].c".
std::string JsonPathOf(std::string_view path) {
  std::string out = "$.";
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '*') out += 'x';
    else if (path[i] == '[') out += "[0", ++i, out += ']';
    else out += path[i];
  }
  return out;
}

std::string ParseError(const std::string& text) {
  auto c = Config::Parse("t.json", text);
  return c.ok() ? "" : std::string(c.status().message());
}

}  // namespace

BOOST_AUTO_TEST_CASE(docs_document_every_key_the_parser_reads_with_its_type) {
  std::map<std::string, std::string> documented = DocumentedKeys();
  std::set<std::string> table;
  for (const ConfigKey& k : ConfigKeys()) {
    table.insert(std::string(k.path));
    auto it = documented.find(std::string(k.path));
    BOOST_CHECK_MESSAGE(it != documented.end(), "docs/configuration.md has no row for " << k.path);
    if (it != documented.end())
      BOOST_CHECK_MESSAGE(it->second == k.type, k.path << ": documented as \"" << it->second << "\", the parser's table says \""
                                                       << k.type << "\"");
  }
  for (const auto& [key, type] : documented)
    BOOST_CHECK_MESSAGE(table.count(key), "docs/configuration.md documents " << key << ", which the parser does not read");
  BOOST_CHECK_GE(documented.size(), 60u);
}

// Each key of the table reaches the parser: a value no key accepts (an array of arrays) is an
// error at that key's path. A table row for a key the parser skips would parse cleanly.
BOOST_AUTO_TEST_CASE(every_key_of_the_table_is_read_by_the_parser) {
  for (const ConfigKey& k : ConfigKeys()) {
    const std::string text = ConfigWith(k.path, "[[[]]]");
    const std::string error = ParseError(text);
    BOOST_CHECK_MESSAGE(error.find(JsonPathOf(k.path)) != std::string::npos,
                        k.path << ": a value of no key's type was not refused at " << JsonPathOf(k.path) << " (config "
                               << text << "; error: \"" << error << "\")");
  }
}

BOOST_AUTO_TEST_CASE(a_misspelt_modelpin_key_is_an_error_with_the_nearest_key) {
  BOOST_CHECK_EQUAL(ParseError("{\"modelpin\": {\n  \"stoer\": \"redis://127.0.0.1:6379\"}}"),
                    "t.json: $.modelpin.stoer (2:12): unknown key \"stoer\" (did you mean \"store\"?)");
  BOOST_CHECK_EQUAL(ParseError(R"({"modelpin": {"storeprefix": "x:"}})"),
                    "t.json: $.modelpin.storeprefix (1:30): unknown key \"storeprefix\" (did you mean \"storePrefix\"?)");
  BOOST_CHECK_EQUAL(ParseError(R"({"modelpin": {"rotation": {"rateLimit": "retry_after"}}})"),
                    "t.json: $.modelpin.rotation.rateLimit (1:41): unknown key \"rateLimit\" (did you mean \"rate_limit\"?)");
  // Nothing close: the keys that can stand there.
  BOOST_CHECK_EQUAL(ParseError(R"({"modelpin": {"gateway": 1}})"),
                    "t.json: $.modelpin.gateway (1:26): unknown key \"gateway\" (modelpin reads budgets, masking, probe, profileAccess, "
                    "rotation, routes, store, storePrefix, storeTimeoutMs, storeWaitReplicas, strict, webhooks here)");
  // Any provider name is a key of strategy.
  BOOST_CHECK(Config::Parse("t.json", R"({"modelpin": {"rotation": {"strategy": {"my-llm": "random"}}}})").ok());
}

BOOST_AUTO_TEST_CASE(keys_elsewhere_that_modelpin_does_not_read_are_listed_as_ignored) {
  auto c = Config::Parse("t.json", R"({"gateway": {"port": 1}, "agents": {"defaults": {"workspace": "~/w",
      "model": "anthropic/claude-opus-4-5"}, "entries": {"main": {"identity": {"name": "x"}}}},
      "models": {"providers": {"anthropic": {"models": [{"id": "a"}, {"id": "b", "cost": {"input": 3}}]}}},
      "channels": {}})");
  BOOST_REQUIRE(c.ok());
  // (A catalog row's "cost" is read: docs/usage-and-budgets.md.)
  const std::vector<std::string> expected = {"$.gateway", "$.agents.defaults.workspace", "$.agents.entries.main.identity",
                                            "$.channels"};
  BOOST_CHECK_EQUAL_COLLECTIONS(c->ignored_keys().begin(), c->ignored_keys().end(), expected.begin(), expected.end());
  // A config of only known keys ignores nothing.
  auto clean = Config::Parse("t.json", R"({"modelpin": {"store": "unix:///run/redis.sock", "rotation": {"seed": 1}}, "plugins": {"load": []}})");
  BOOST_REQUIRE(clean.ok());
  BOOST_CHECK(clean->ignored_keys().empty());
}

BOOST_AUTO_TEST_CASE(a_wrong_type_is_still_reported_as_such) {
  BOOST_CHECK_EQUAL(ParseError(R"({"modelpin": {"strict": "yes", "stoer": 1}})"),
                    "t.json: $.modelpin.strict (1:25): expected true or false, found a string");
}
