#include "server/bodies.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace runicorn::server {

runtrack::Result<std::shared_ptr<FileBody>> FileBody::Open(const std::filesystem::path& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? runtrack::Status::NotFound("not found")
                           : runtrack::Status::IOError(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
  return std::shared_ptr<FileBody>(new FileBody(fd, size));
}

runtrack::Result<std::shared_ptr<FileBody>> FileBody::OpenTemporary(const std::filesystem::path& path, uint64_t size) {
  auto body = Open(path, size);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return body;
}

FileBody::~FileBody() { ::close(fd_); }

runtrack::Result<size_t> FileBody::Read(char* out, size_t capacity) {
  const size_t want = static_cast<size_t>(std::min<uint64_t>(capacity, size_ - sent_));
  if (want == 0) return size_t{0};
  ssize_t n;
  do n = ::read(fd_, out, want);
  while (n < 0 && errno == EINTR);
  if (n < 0) return runtrack::Status::IOError(std::strerror(errno));
  if (n == 0) return runtrack::Status::IOError("file shrank while it was sent");
  sent_ += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

runtrack::Result<size_t> GeneratedBody::Read(char* out, size_t capacity) {
  while (pending_pos_ == pending_.size() && !done_) {
    pending_.clear();
    pending_pos_ = 0;
    RUNTRACK_ASSIGN_OR_RETURN(bool more, next_(&pending_));
    done_ = !more;
  }
  size_t n = std::min(capacity, pending_.size() - pending_pos_);
  std::memcpy(out, pending_.data() + pending_pos_, n);
  pending_pos_ += n;
  return n;
}

}  // namespace runicorn::server
