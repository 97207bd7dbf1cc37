#include "artifacts/writer_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "artifacts/sha256.h"
#include "util/files.h"

namespace runtrack::artifacts {

fs::path ChunkTmpPath(const Layout& layout, const std::string& hex, const std::string& token) {
  return layout.blob_path(hex).parent_path() / (".tmp-" + hex + "-" + token);
}

Result<WriterClaim> WriterClaim::Create(const Layout& layout) {
  fs::path dir = WritersDir(layout);
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string token = fmt::format("{}-{:016x}", ::getpid(), rng());
    fs::path tmp = dir / (".tmp-" + token);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      return util::ErrnoStatus("create", tmp, errno);
    }
    // A collector that found the file before this lock may hold it or have removed the name:
    // start over with a new token (EWOULDBLOCK here, ENOENT from link below).
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) continue;
      ::unlink(tmp.c_str());
      return util::ErrnoStatus("flock", tmp, err);
    }
    fs::path path = dir / token;
    if (::link(tmp.c_str(), path.c_str()) != 0) {  // link, not rename: never replaces a claim
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      if (err == EEXIST || err == ENOENT) continue;
      return util::ErrnoStatus("link", path, err);
    }
    ::unlink(tmp.c_str());
    return WriterClaim(fd, std::move(path), std::move(token));
  }
  return Status::Internal("could not create a writer claim file in " + dir.string());
}

WriterClaim::WriterClaim(WriterClaim&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), token_(std::move(other.token_)) {}

WriterClaim::~WriterClaim() {
  if (fd_ >= 0) ::close(fd_);
}

Status WriterClaim::Record(const std::string& hex) {
  std::string line = hex + "\n";
  std::lock_guard lock(mu_);
  if (fd_ < 0) return Status::FailedPrecondition("writer claim is retired");
  return util::WriteAll(fd_, line.data(), line.size(), path_);
}

void WriterClaim::Retire() {
  std::lock_guard lock(mu_);
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked, so no collector can take it for abandoned
  ::close(fd_);
  fd_ = -1;
}

Result<std::vector<std::string>> ReadClaim(const fs::path& path) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t nl = text.find('\n'); nl != std::string::npos; begin = nl + 1, nl = text.find('\n', begin)) {
    std::string hex = text.substr(begin, nl - begin);
    if (IsSha256Hex(hex)) out.push_back(std::move(hex));
  }
  return out;
}

}  // namespace runtrack::artifacts
