// Files as modelpin reads and writes them: whole reads, read-only mappings of large inputs,
// atomic replacement, private directories. Errors name the file.
#ifndef MODELPIN_BASE_FILE_IO_H_
#define MODELPIN_BASE_FILE_IO_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace modelpin {

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

// Writes `contents` to `path` atomically with the given mode: a temp file in the same directory,
// fsync, rename over the target, fsync of the directory. Parent directories are created (0700).
// On failure the target is untouched and the temp file removed.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents, int mode);

// Creates `dir` and its missing parents with mode 0700.
absl::Status MakeDirs(const std::string& dir);

}  // namespace modelpin

#endif  // MODELPIN_BASE_FILE_IO_H_
