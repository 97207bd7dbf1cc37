#include "service/secret_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <openssl/rand.h>

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

Status Errno(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// A complete, synced temporary sibling of `path`, mode 0600.
Result<fs::path> WriteTemp(const fs::path& path, std::string_view content) {
  unsigned char r[8];
  if (RAND_bytes(r, sizeof r) != 1) return Status::Internal("RAND_bytes failed");
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", r[0], r[1], r[2], r[3], r[4], r[5],
                     r[6], r[7]);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  return tmp;
}

}  // namespace

Result<std::string> ReadSecretFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return Status::NotFound(fmt::format("{} does not exist", path.string()));
    return Status::IOError(fmt::format("cannot read {}", path.string()));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status WriteSecretFile(const fs::path& path, std::string_view content) {
  auto tmp = WriteTemp(path, content);
  if (!tmp.ok()) return tmp.status();
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot replace", path);
    ::unlink(tmp->c_str());
    return s;
  }
  return Status::Ok();
}

Result<std::string> CreateSecretFileOnce(const fs::path& path, std::string_view content) {
  auto tmp = WriteTemp(path, content);
  if (!tmp.ok()) return tmp.status();
  int rc = ::link(tmp->c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp->c_str());
  if (rc != 0 && err != EEXIST) {
    errno = err;
    return Errno("cannot create", path);
  }
  return ReadSecretFile(path);
}

}  // namespace runicorn::service
