#include <modelpin/engine/config/json_reader.h>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>

namespace modelpin {

using rapidjson::Value;

absl::Status JsonReader::Object(const Value& v, const std::string& path) const {
  if (!v.IsObject()) return file_.Error(path, absl::StrCat("expected an object, found ", TypeName(v)));
  return absl::OkStatus();
}

absl::StatusOr<std::string> JsonReader::String(const Value& v, const std::string& path) const {
  if (!v.IsString()) return file_.Error(path, absl::StrCat("expected a string, found ", TypeName(v)));
  return std::string(v.GetString(), v.GetStringLength());
}

absl::StatusOr<bool> JsonReader::Bool(const Value& v, const std::string& path) const {
  if (!v.IsBool()) return file_.Error(path, absl::StrCat("expected true or false, found ", TypeName(v)));
  return v.GetBool();
}

absl::StatusOr<std::vector<std::string>> JsonReader::Strings(const Value& v, const std::string& path) const {
  if (!v.IsArray()) return file_.Error(path, absl::StrCat("expected an array of strings, found ", TypeName(v)));
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
    ASSIGN_OR_RETURN(std::string s, String(v[i], absl::StrCat(path, "[", i, "]")));
    out.push_back(std::move(s));
  }
  return out;
}

const char* JsonReader::TypeName(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "a value";
}

}  // namespace modelpin
