#include "base/json_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
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

absl::StatusOr<MappedText> MappedText::Open(const std::string& path) {
  MappedText m;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    ::close(fd);
    if (p != MAP_FAILED) {
      ::madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      m.map_ = p;
      m.size_ = static_cast<size_t>(st.st_size);
      m.text_ = std::string_view(static_cast<const char*>(p), m.size_);
      return m;
    }
  } else if (fd >= 0) {
    ::close(fd);
  }
  ASSIGN_OR_RETURN(m.copy_, ReadTextFile(path));  // errors name the file
  m.text_ = m.copy_;
  return m;
}

MappedText::MappedText(MappedText&& o) noexcept
    : map_(std::exchange(o.map_, nullptr)), size_(std::exchange(o.size_, 0)), copy_(std::move(o.copy_)) {
  text_ = map_ ? std::string_view(static_cast<const char*>(map_), size_) : std::string_view(copy_);
  o.text_ = {};
}

MappedText::~MappedText() {
  if (map_) ::munmap(map_, size_);
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  }
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  else if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory"));
  }
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
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

absl::Status MakeDirs(const std::string& dir) {
  // Missing parents are private to the owner: they hold credentials.
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
        return absl::PermissionDeniedError(absl::StrCat(part, ": cannot create directory: ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents, int mode) {
  std::string dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  if (absl::Status st = MakeDirs(dir); !st.ok()) return st;
  std::string tmp = path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create temp file: ", std::strerror(errno)));
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    ::unlink(name.data());
    return absl::InternalError(absl::StrCat(path, ": ", what, ": ", std::strerror(err)));
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("chmod");
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    ::unlink(name.data());
    return absl::InternalError(absl::StrCat(path, ": close failed"));
  }
  if (::rename(name.data(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(name.data());
    return absl::InternalError(absl::StrCat(path, ": rename: ", std::strerror(err)));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
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
