// Streamed response bodies (http_types.h, BodySource).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "runtrack/artifacts.h"
#include "server/http_types.h"

namespace runicorn::server {

// One artifact file, each chunk verified before it is sent.
class ArtifactBody final : public BodySource {
 public:
  explicit ArtifactBody(runtrack::ArtifactFileReader reader) : reader_(std::move(reader)) {}
  std::optional<uint64_t> size() const override { return reader_.size(); }
  runtrack::Result<size_t> Read(char* out, size_t capacity) override { return reader_.Read(out, capacity); }

 private:
  runtrack::ArtifactFileReader reader_;
};

// A file sent as it is on disk: exactly `size` bytes from an open descriptor (a file that shrank
// meanwhile ends the response early, one that grew is cut at `size`).
class FileBody final : public BodySource {
 public:
  // NotFound / IOError when the file cannot be opened.
  static runtrack::Result<std::shared_ptr<FileBody>> Open(const std::filesystem::path& path, uint64_t size);
  // Open(), then removes the file (made for this response): the open descriptor keeps its bytes
  // until they are sent, and nothing is left behind whatever happens to the connection.
  static runtrack::Result<std::shared_ptr<FileBody>> OpenTemporary(const std::filesystem::path& path, uint64_t size);
  ~FileBody() override;
  std::optional<uint64_t> size() const override { return size_; }
  runtrack::Result<size_t> Read(char* out, size_t capacity) override;

 private:
  FileBody(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
  uint64_t sent_ = 0;
};

// Text produced by a generator in pieces (exports): `next` appends the next piece to its argument
// and returns false once there is nothing more.
class GeneratedBody final : public BodySource {
 public:
  using Generator = std::function<runtrack::Result<bool>(std::string* out)>;
  explicit GeneratedBody(Generator next) : next_(std::move(next)) {}
  std::optional<uint64_t> size() const override { return std::nullopt; }
  runtrack::Result<size_t> Read(char* out, size_t capacity) override;

 private:
  Generator next_;
  std::string pending_;
  size_t pending_pos_ = 0;
  bool done_ = false;
};

}  // namespace runicorn::server
