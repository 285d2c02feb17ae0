// Golden transcripts: every fixture of fixtures/transcripts/manifest.tsv is replayed through the
// engine and compared, step by step, with the output OpenClaw's oracle stored beside it.
#define BOOST_TEST_MODULE replay
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include "engine/replay.h"
#include "plugins/builtin.h"
#include "test/golden.h"

namespace modelpin {
namespace {

using testing::ReadFile;
using testing::SourcePath;

struct Fixture {
  std::string name;
  std::string config;
};

std::vector<Fixture> Manifest() {
  std::vector<Fixture> out;
  std::istringstream in(ReadFile(SourcePath("fixtures/transcripts/manifest.tsv")));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

// The oracle's output, or, for transcripts of modelpin-only behaviour (strict mode, multi-session
// directives), modelpin's own reviewed output in NAME.expected.jsonl.
std::string ExpectedOutput(const std::string& name) {
  std::string own = testing::ReadFile(testing::SourcePath("fixtures/transcripts/" + name + ".expected.jsonl"));
  if (!own.empty()) return own;
  return testing::ReadFile(testing::SourcePath("fixtures/transcripts/" + name + ".oracle.jsonl"));
}

std::map<std::string, std::set<int>> KnownGaps() {
  std::map<std::string, std::set<int>> out;
  std::istringstream in(ReadFile(SourcePath("fixtures/transcripts/known-gaps.tsv")));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols = absl::StrSplit(line, '\t');
    if (cols.size() < 2) continue;
    for (const auto& n : absl::StrSplit(cols[1], ' ', absl::SkipEmpty())) out[cols[0]].insert(std::stoi(std::string(n)));
  }
  return out;
}


}  // namespace
}  // namespace modelpin

BOOST_TEST_DONT_PRINT_LOG_VALUE(std::vector<modelpin::Fixture>::value_type)

BOOST_AUTO_TEST_CASE(ManifestListsEveryTranscriptWithItsOracleOutput) {
  auto fixtures = modelpin::Manifest();
  BOOST_TEST(fixtures.size() >= 8u);
  int messages = 0;
  for (const auto& f : fixtures) {
    std::string transcript = modelpin::testing::ReadFile(modelpin::testing::SourcePath("fixtures/transcripts/" + f.name + ".txt"));
    auto lines = modelpin::ParseTranscript(f.name, transcript);
    BOOST_REQUIRE(lines.ok());
    messages += static_cast<int>(lines->size());
    BOOST_TEST(!modelpin::ExpectedOutput(f.name).empty(), f.name << " has neither oracle nor expected output");
  }
  BOOST_TEST(messages >= 200);
}

BOOST_DATA_TEST_CASE(ReplayMatchesOracle, boost::unit_test::data::make(modelpin::Manifest()), fixture) {
  using namespace modelpin;
  auto config = Config::Load(testing::SourcePath("fixtures/" + fixture.config));
  BOOST_REQUIRE_MESSAGE(config.ok(), config.status().message());
  EngineOptions options{.plugins = BuiltinPlugins()};
  options.state_dir = testing::SourcePath("fixtures/state");
  options.environment = std::map<std::string, std::string>{};  // no developer's keys in golden runs
  auto engine = Engine::Create(*std::move(config), std::make_unique<MemorySessionStore>(), options);
  BOOST_REQUIRE(engine.ok());
  auto lines = ParseTranscript(fixture.name, testing::ReadFile(testing::SourcePath("fixtures/transcripts/" + fixture.name + ".txt")));
  BOOST_REQUIRE(lines.ok());
  std::istringstream expected(ExpectedOutput(fixture.name));
  std::set<int> gaps = KnownGaps()[fixture.name];
  Replayer replayer(**engine, "", "");
  int matched = 0, steps = 0;
  for (const auto& line : *lines) {
    auto step = replayer.Run(line);
    BOOST_REQUIRE_MESSAGE(step.ok(), step.status().message());
    if (!*step) continue;
    ++steps;
    std::string exp;
    BOOST_REQUIRE_MESSAGE(std::getline(expected, exp), fixture.name << ": oracle output has fewer steps");
    auto diffs = testing::DiffStep(exp, **step);
    bool known = gaps.count((*step)->step) > 0;
    if (diffs.empty()) {
      ++matched;
      BOOST_CHECK_MESSAGE(!known, fixture.name << " step " << (*step)->step
                                               << " now matches OpenClaw: remove it from known-gaps.tsv");
    } else if (!known) {
      std::string all;
      for (const auto& d : diffs) all += "\n  " + d;
      BOOST_FAIL(fixture.name << " step " << (*step)->step << " " << line.text << all);
    }
  }
  BOOST_TEST_MESSAGE(fixture.name << ": " << matched << "/" << steps << " steps match OpenClaw");
}
