#include "segments/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "util/files.h"

namespace runtrack::segments {
namespace {

Status CheckRange(uint64_t offset, uint64_t length, uint64_t size) {
  if (offset > size || length > size - offset) {
    return Status::InvalidArgument("byte range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                                   ") lies outside an object of " + std::to_string(size) + " bytes");
  }
  return Status::Ok();
}

}  // namespace

Status ByteSource::ReadInto(uint64_t offset, uint64_t length, char* out) const {
  std::string bytes;
  RUNTRACK_RETURN_IF_ERROR(ReadAt(offset, length, &bytes));
  if (bytes.size() != length) {
    return Status::IOError("read of " + std::to_string(length) + " bytes at offset " + std::to_string(offset) +
                           " returned " + std::to_string(bytes.size()));
  }
  std::memcpy(out, bytes.data(), bytes.size());
  return Status::Ok();
}

Status StringByteSource::ReadAt(uint64_t offset, uint64_t length, std::string* out) const {
  RUNTRACK_RETURN_IF_ERROR(CheckRange(offset, length, bytes_.size()));
  out->assign(bytes_, static_cast<size_t>(offset), static_cast<size_t>(length));
  return Status::Ok();
}

Result<std::unique_ptr<FileByteSource>> FileByteSource::Open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = util::ErrnoStatus("fstat", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<FileByteSource>(new FileByteSource(path, fd, static_cast<uint64_t>(st.st_size)));
}

FileByteSource::~FileByteSource() { ::close(fd_); }

Status FileByteSource::ReadAt(uint64_t offset, uint64_t length, std::string* out) const {
  RUNTRACK_RETURN_IF_ERROR(CheckRange(offset, length, size_));
  out->resize(static_cast<size_t>(length));
  return ReadInto(offset, length, out->data());
}

Status FileByteSource::ReadInto(uint64_t offset, uint64_t length, char* out) const {
  RUNTRACK_RETURN_IF_ERROR(CheckRange(offset, length, size_));
  uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd_, out + done, static_cast<size_t>(length - done),
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return util::ErrnoStatus("pread", path_);
    if (n == 0) return Status::IOError("pread " + path_.string() + ": file shrank below its size at open");
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

}  // namespace runtrack::segments
