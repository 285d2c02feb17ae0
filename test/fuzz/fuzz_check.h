// What the fuzz harnesses share: a violated invariant aborts with its name, so libFuzzer keeps
// the input that broke it.
#ifndef MODELPIN_TEST_FUZZ_FUZZ_CHECK_H_
#define MODELPIN_TEST_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"

namespace modelpin::fuzz {

inline void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// A parser's refusal of bad input: InvalidArgument, naming the file it was given.
inline void CheckParseError(const absl::Status& status, const char* file) {
  Check(status.code() == absl::StatusCode::kInvalidArgument, "errors are InvalidArgument");
  Check(status.message().find(file) != absl::string_view::npos, "errors name the file");
}

}  // namespace modelpin::fuzz

#endif  // MODELPIN_TEST_FUZZ_FUZZ_CHECK_H_
