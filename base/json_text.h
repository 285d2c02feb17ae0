// JSON string literals written by hand where modelpin writes JSON text itself (the replay's
// --json lines, the HTTP service's answers): one escaper for both. RapidJSON is the style
// everywhere else (base/json_file.h reads, engine/events/events.h Event::ToJson writes). This one
// is not faster than RapidJSON's Writer (the same within 2%: BM_JsonString in bench/engine_bench.cc,
// the "JSON strings" row of bench/run.sh); it stays because it writes what RapidJSON cannot:
// invalid UTF-8 becomes U+FFFD (RapidJSON's Writer copies it or, validating, fails), and the
// replay's output stays byte for byte what its golden files hold (lower-case \u00xx escapes).
//
//   std::string out;
//   AppendJsonString(&out, "tab\there");  // out == R"("tab\there")"
#ifndef MODELPIN_BASE_JSON_TEXT_H_
#define MODELPIN_BASE_JSON_TEXT_H_

#include <string>
#include <string_view>

namespace modelpin {

// Appends `s` as a JSON string literal, quotes included: '"', '\\' and control characters
// escaped (\n, \r, \t, \b, \f, else \u00xx), invalid UTF-8 bytes replaced by U+FFFD.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace modelpin

#endif  // MODELPIN_BASE_JSON_TEXT_H_
