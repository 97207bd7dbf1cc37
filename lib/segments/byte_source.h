// Random read access to a sealed object by byte range: the only thing SegmentReader and the LOD
// reader need, so the same readers serve local files (pread) and, later, object stores (an HTTP
// Range GET per ReadAt).
//
// Thread safety: implementations must allow concurrent ReadAt calls (the ones here do).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack::segments {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Replaces *out with bytes [offset, offset + length). InvalidArgument if the range does not lie
  // within size(); IOError if the medium fails.
  virtual Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const = 0;
  // The same bytes into `length` bytes at `out`, which the caller owns: lets a reader fill a buffer
  // it keeps (no zero-filling first, as std::string::resize does; see the LOD reader). On error the
  // contents of `out` are unspecified. The default goes through ReadAt and copies.
  virtual Status ReadInto(uint64_t offset, uint64_t length, char* out) const;
  // The whole object, when it already sits in memory for the source's lifetime: readers then
  // decode in place instead of copying each range first. Empty for sources that must fetch.
  virtual std::optional<std::string_view> View() const { return std::nullopt; }
};

// An object held in memory (tests, benchmarks, objects already downloaded whole).
class StringByteSource final : public ByteSource {
 public:
  explicit StringByteSource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override;
  std::optional<std::string_view> View() const override { return std::string_view(bytes_); }

 private:
  std::string bytes_;
};

// A local file, read with pread(2). The size is taken at Open: a sealed segment never changes.
class FileByteSource final : public ByteSource {
 public:
  // NotFound if the file does not exist, IOError for other failures.
  static Result<std::unique_ptr<FileByteSource>> Open(const std::filesystem::path& path);
  ~FileByteSource() override;
  FileByteSource(const FileByteSource&) = delete;
  FileByteSource& operator=(const FileByteSource&) = delete;

  uint64_t size() const override { return size_; }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override;
  Status ReadInto(uint64_t offset, uint64_t length, char* out) const override;

 private:
  FileByteSource(std::filesystem::path path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  std::filesystem::path path_;
  int fd_;
  uint64_t size_;
};

}  // namespace runtrack::segments
