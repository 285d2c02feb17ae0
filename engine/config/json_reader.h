// Typed, path-aware reading of a JSON document that base/json_file.h parsed: the config's section
// readers (engine/config/config.cc, routes_reader.cc) take their values through it, so a wrong
// type is an error naming the file, the JSON path and line:column.
//
//   JsonReader r(file);
//   if (const rapidjson::Value* v = JsonReader::Get(file.doc, "strict"))
//     ASSIGN_OR_RETURN(bool strict, r.Bool(*v, "$.strict"));  // "expected true or false, found a string"
#ifndef MODELPIN_ENGINE_CONFIG_JSON_READER_H_
#define MODELPIN_ENGINE_CONFIG_JSON_READER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include <modelpin/base/json_file.h>
#include "rapidjson/document.h"

namespace modelpin {

// Every accessor returns InvalidArgument naming the file, JSON path and line:column when the
// value has the wrong type.
class JsonReader {
 public:
  explicit JsonReader(const JsonFile& file) : file_(file) {}

  // Member `name` of object `v` or nullptr (absent or null both mean "not set").
  static const rapidjson::Value* Get(const rapidjson::Value& v, const char* name) {
    if (!v.IsObject()) return nullptr;
    auto it = v.FindMember(name);
    if (it == v.MemberEnd() || it->value.IsNull()) return nullptr;
    return &it->value;
  }
  absl::Status Object(const rapidjson::Value& v, const std::string& path) const;
  absl::StatusOr<std::string> String(const rapidjson::Value& v, const std::string& path) const;
  absl::StatusOr<bool> Bool(const rapidjson::Value& v, const std::string& path) const;
  absl::StatusOr<std::vector<std::string>> Strings(const rapidjson::Value& v, const std::string& path) const;
  // "null", "a boolean", "an object", "an array", "a string", "a number".
  static const char* TypeName(const rapidjson::Value& v);
  const JsonFile& file() const { return file_; }

 private:
  const JsonFile& file_;
};

}  // namespace modelpin

#endif  // MODELPIN_ENGINE_CONFIG_JSON_READER_H_
