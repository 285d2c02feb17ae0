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

// Reads a whole file. NotFound when it does not exist; other failures name the file.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// A file's bytes mapped read-only (a regular file; anything else is read into memory), for large
// inputs read once from start to end: a million-line transcript costs no copy. Movable only.
class MappedText {
 public:
  static absl::StatusOr<MappedText> Open(const std::string& path);
  MappedText(MappedText&& o) noexcept;
  MappedText& operator=(MappedText&&) = delete;
  ~MappedText();
  std::string_view text() const { return text_; }

 private:
  MappedText() = default;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::string copy_;  // when the file could not be mapped
  std::string_view text_;
};

// Appends a member name to a JSON path, quoting names that are not plain identifiers:
// JoinPath("$.agents", "main") == "$.agents.main"; JoinPath("$.p", "a:b") == "$.p[\"a:b\"]".
std::string JoinPath(std::string_view base, std::string_view member);

// Writes `contents` to `path` atomically with the given mode: a temp file in the same directory,
// fsync, rename over the target, fsync of the directory. Parent directories are created (0700).
// On failure the target is untouched and the temp file removed.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents, int mode);

// Creates `dir` and its missing parents with mode 0700.
absl::Status MakeDirs(const std::string& dir);

// Serialises a value as indented JSON (2 spaces) followed by a newline.
std::string ToPrettyJson(const rapidjson::Value& value);
// Serialises compactly, with non-ASCII left as UTF-8.
std::string ToCompactJson(const rapidjson::Value& value);

}  // namespace modelpin

#endif  // MODELPIN_BASE_JSON_FILE_H_
