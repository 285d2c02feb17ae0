#include <modelpin/base/json_file.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include <modelpin/base/status_macros.h>
#include "rapidjson/error/en.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/reader.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace modelpin {
namespace {

// Line and column (1-based, columns in bytes) of a byte offset.
std::pair<size_t, size_t> LineColumn(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return !(s[0] >= '0' && s[0] <= '9');
}

// SAX handler that walks the document keeping the JSON path of the current value and records the
// stream offset where `target` starts.
struct PathLocator {
  struct Frame {
    bool is_array;
    size_t index;
    std::string path;
  };
  std::string target;
  const rapidjson::StringStream* stream = nullptr;
  std::vector<Frame> frames;
  std::string pending_key_path;
  long found = -1;

  std::string CurrentValuePath() {
    if (frames.empty()) return "$";
    Frame& f = frames.back();
    if (f.is_array) return f.path + "[" + std::to_string(f.index) + "]";
    return pending_key_path;
  }
  bool Value() {
    if (found < 0 && CurrentValuePath() == target) found = static_cast<long>(stream->Tell());
    if (!frames.empty() && frames.back().is_array) ++frames.back().index;
    return true;
  }
  bool Null() { return Value(); }
  bool Bool(bool) { return Value(); }
  bool Int(int) { return Value(); }
  bool Uint(unsigned) { return Value(); }
  bool Int64(int64_t) { return Value(); }
  bool Uint64(uint64_t) { return Value(); }
  bool Double(double) { return Value(); }
  bool RawNumber(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool String(const char*, rapidjson::SizeType, bool) { return Value(); }
  bool Open(bool is_array) {
    std::string path = CurrentValuePath();
    if (found < 0 && path == target) found = static_cast<long>(stream->Tell());
    frames.push_back({is_array, 0, path});
    return true;
  }
  bool Close() {
    frames.pop_back();
    if (!frames.empty() && frames.back().is_array) ++frames.back().index;
    return true;
  }
  bool StartObject() { return Open(false); }
  bool EndObject(rapidjson::SizeType) { return Close(); }
  bool StartArray() { return Open(true); }
  bool EndArray(rapidjson::SizeType) { return Close(); }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    pending_key_path = JoinPath(frames.back().path, std::string_view(s, n));
    if (found < 0 && pending_key_path == target) found = static_cast<long>(stream->Tell());
    return true;
  }
};

}  // namespace

std::string JoinPath(std::string_view base, std::string_view member) {
  std::string out(base);
  if (IsIdentifier(member)) {
    out += '.';
    out += member;
  } else {
    out += "[\"";
    for (char c : member) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"]";
  }
  return out;
}

absl::StatusOr<JsonFile> JsonFile::Load(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return Parse(path, *std::move(text));
}

// RapidJSON recurses once per nesting level, when parsing and again when freeing a document, so a
// hostile file of 60,000 '[' overflows the stack. Real configs nest a handful of levels: refuse
// anything deeper than kMaxDepth before parsing, naming where it happens.
constexpr int kMaxDepth = 256;

size_t TooDeepAt(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

absl::StatusOr<JsonFile> JsonFile::Parse(std::string path, std::string text) {
  JsonFile f;
  f.path = std::move(path);
  f.text = std::move(text);
  if (size_t at = TooDeepAt(f.text); at != std::string_view::npos) {
    auto [line, col] = LineColumn(f.text, at);
    return absl::InvalidArgumentError(
        absl::StrCat(f.path, ":", line, ":", col, ": invalid JSON: nesting deeper than ", kMaxDepth, " levels"));
  }
  // Full precision keeps numbers of keys we do not know exactly as written across rewrites;
  // encoding validation refuses invalid UTF-8 instead of echoing it later.
  constexpr unsigned kFlags =
      rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseValidateEncodingFlag;
  f.doc.Parse<kFlags>(f.text.data(), f.text.size());
  if (f.doc.HasParseError()) {
    auto [line, col] = LineColumn(f.text, f.doc.GetErrorOffset());
    return absl::InvalidArgumentError(absl::StrCat(f.path, ":", line, ":", col, ": invalid JSON: ",
                                                   rapidjson::GetParseError_En(f.doc.GetParseError())));
  }
  // kParseStopWhenDoneFlag lets us report trailing garbage ourselves, with its position.
  {
    rapidjson::Reader reader;
    rapidjson::StringStream ss(f.text.c_str());
    rapidjson::BaseReaderHandler<> ignore;
    reader.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseFullPrecisionFlag>(ss, ignore);
    size_t i = ss.Tell();
    while (i < f.text.size() && (f.text[i] == ' ' || f.text[i] == '\n' || f.text[i] == '\r' || f.text[i] == '\t')) ++i;
    if (i < f.text.size()) {
      auto [line, col] = LineColumn(f.text, i);
      return absl::InvalidArgumentError(
          absl::StrCat(f.path, ":", line, ":", col, ": invalid JSON: unexpected text after the document"));
    }
  }
  return f;
}

std::string JsonFile::Position(std::string_view json_path) const {
  PathLocator loc;
  loc.target = std::string(json_path);
  rapidjson::StringStream ss(text.c_str());
  loc.stream = &ss;
  rapidjson::Reader reader;
  reader.Parse<rapidjson::kParseStopWhenDoneFlag>(ss, loc);
  if (loc.found < 0) return "?";
  // The locator stops at the member's key; step over it and the ':' to the value itself.
  size_t off = static_cast<size_t>(loc.found);
  auto skip_ws = [&] {
    while (off < text.size() && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r')) ++off;
  };
  skip_ws();
  if (off < text.size() && text[off] == '"') {
    for (++off; off < text.size() && text[off] != '"'; ++off)
      if (text[off] == '\\') ++off;
    ++off;
    skip_ws();
    if (off < text.size() && text[off] == ':') {
      ++off;
      skip_ws();
    } else {
      off = static_cast<size_t>(loc.found);  // it was a string value, not a key
    }
  }
  auto [line, col] = LineColumn(text, off);
  return absl::StrCat(line, ":", col);
}

absl::Status JsonFile::Error(std::string_view json_path, std::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", std::string(json_path), " (", Position(json_path),
                                                 "): ", std::string(what)));
}

std::string ToPrettyJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  value.Accept(w);
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::string ToCompactJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  value.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace modelpin
