// Reading and writing the JSON files modelpin shares with OpenClaw (openclaw.json-shaped config,
// auth-profiles.json), with errors that name the file, the JSON path and line:column.
//
//   ASSIGN_OR_RETURN(JsonFile f, JsonFile::Load("/etc/modelpin.json"));
//   JsonReader r(f);                                    // typed access with path-aware errors
//   ASSIGN_OR_RETURN(std::string p, r.String(f.doc["x"], "$.x"));
#ifndef MODELPIN_BASE_JSON_FILE_H_
#define MODELPIN_BASE_JSON_FILE_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <modelpin/base/file_io.h>
#include "rapidjson/document.h"

namespace modelpin {

struct JsonFile {
  std::string path;
  std::string text;
  rapidjson::Document doc;

  // Reads and parses `path`. A missing file is NotFound; bad JSON is InvalidArgument with
  // "<path>:<line>:<col>: <reason>".
  static absl::StatusOr<JsonFile> Load(const std::string& path);
  static absl::StatusOr<JsonFile> Parse(std::string path, std::string text);

  // "<line>:<col>" of the value at JSON path `json_path` ("$.a.b[2]"), best effort ("?" if unknown).
  std::string Position(std::string_view json_path) const;

  // InvalidArgument "<file>: <json_path> (line:col): <what>".
  absl::Status Error(std::string_view json_path, std::string_view what) const;
};

// Appends a member name to a JSON path, quoting names that are not plain identifiers:
// JoinPath("$.agents", "main") == "$.agents.main"; JoinPath("$.p", "a:b") == "$.p[\"a:b\"]".
std::string JoinPath(std::string_view base, std::string_view member);

// Serialises a value as indented JSON (2 spaces) followed by a newline.
std::string ToPrettyJson(const rapidjson::Value& value);
// Serialises compactly, with non-ASCII left as UTF-8.
std::string ToCompactJson(const rapidjson::Value& value);

}  // namespace modelpin

#endif  // MODELPIN_BASE_JSON_FILE_H_
