// Golden transcripts: every fixture of fixtures/transcripts/manifest.tsv is replayed through the
// engine and compared, step by step, with the output OpenClaw's oracle stored beside it.
#define BOOST_TEST_MODULE replay
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/str_split.h"
#include <modelpin/engine/sessions/memory_store.h>
#include <modelpin/plugins/builtin.h>
#include <modelpin/replay/replay.h>
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
  SessionJsonCache session_json;  // what `replay --json` writes with: the same JSON as without
  int matched = 0, steps = 0;
  for (const auto& line : *lines) {
    auto step = replayer.Run(line);
    BOOST_REQUIRE_MESSAGE(step.ok(), step.status().message());
    if (!*step) continue;
    ++steps;
    std::string cached;
    AppendStepJson(**step, &cached, &session_json);
    BOOST_CHECK_EQUAL(cached, StepJson(**step));
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
      BOOST_ERROR(fixture.name << " step " << (*step)->step << " " << line.text << all);
    }
  }
  std::string leftover;
  BOOST_CHECK_MESSAGE(!std::getline(expected, leftover),
                      fixture.name << ": the expected output has more steps than the replay (next: " << leftover << ")");
  BOOST_TEST_MESSAGE(fixture.name << ": " << matched << "/" << steps << " steps match OpenClaw");
}

// Every transcript in fixtures/transcripts/ is in the manifest and has its expected output, and
// every expected output belongs to a transcript: nothing is silently left out of the replay test.
BOOST_AUTO_TEST_CASE(EveryTranscriptFileIsReplayedAndEveryExpectedFileIsUsed) {
  namespace fs = std::filesystem;
  std::set<std::string> listed;
  for (const auto& f : modelpin::Manifest()) listed.insert(f.name);
  const fs::path dir = modelpin::testing::SourcePath("fixtures/transcripts");
  int transcripts = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    auto stem_of = [&file](const std::string& suffix) {
      return file.size() > suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0
                 ? std::optional<std::string>(file.substr(0, file.size() - suffix.size()))
                 : std::nullopt;
    };
    if (auto name = stem_of(".oracle.jsonl"); name) {
      BOOST_CHECK_MESSAGE(fs::exists(dir / (*name + ".txt")), file << " has no transcript " << *name << ".txt");
      BOOST_CHECK_MESSAGE(!fs::exists(dir / (*name + ".expected.jsonl")),
                          *name << " has both an oracle and an expected output; keep one");
    } else if (auto own = stem_of(".expected.jsonl"); own) {
      BOOST_CHECK_MESSAGE(fs::exists(dir / (*own + ".txt")), file << " has no transcript " << *own << ".txt");
    } else if (auto txt = stem_of(".txt"); txt) {
      ++transcripts;
      BOOST_CHECK_MESSAGE(listed.count(*txt), file << " is not in manifest.tsv, so it is never replayed");
      BOOST_CHECK_MESSAGE(!modelpin::ExpectedOutput(*txt).empty(), file << " has no .oracle.jsonl or .expected.jsonl");
    }
  }
  BOOST_TEST(transcripts == static_cast<int>(listed.size()));
}
