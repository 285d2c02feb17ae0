// Comparing a replay with a stored oracle run, step by step, the way
// ../shared/oracle/compare.py does (so the test suite needs no Python and no ../shared).
#ifndef MODELPIN_TEST_GOLDEN_H_
#define MODELPIN_TEST_GOLDEN_H_

#include <string>
#include <vector>

#include <modelpin/replay/replay.h>

namespace modelpin::testing {

std::string ReadFile(const std::string& path);
std::string SourcePath(const std::string& relative);  // under the source root

// The start of the reply OpenClaw's oracle gives when a message reaches its (offline) model.
extern const char* const kModelCallError;

// Differences between an expected step (one JSON line of the oracle's output) and ours; empty
// when they match. Replies are normalised (store paths, the offline refresh notice); where the
// oracle's message reached its model, our route text is compared with what it sent, and every
// reply OpenClaw gave before its model-call error (block replies included) with ours.
std::vector<std::string> DiffStep(const std::string& expected_json_line, const ReplayStep& actual);

}  // namespace modelpin::testing

#endif  // MODELPIN_TEST_GOLDEN_H_
