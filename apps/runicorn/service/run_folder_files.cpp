#include "service/run_folder_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// errno values that mean "no such regular file here" when walking with O_NOFOLLOW: missing, a
// symbolic link (ELOOP), a file where a folder was expected (ENOTDIR).
bool Absent(int err) { return err == ENOENT || err == ELOOP || err == ENOTDIR; }

// A local file of exactly `size` bytes (fixed when opened: a writer appending later is not read).
class LocalRunFileStream final : public RunFileStream {
 public:
  LocalRunFileStream(Fd fd, uint64_t size, std::string what) : fd_(std::move(fd)), size_(size), what_(std::move(what)) {}
  uint64_t size() const override { return size_; }
  Result<size_t> Read(char* out, size_t capacity) override {
    const uint64_t left = size_ - done_;
    if (left == 0 || capacity == 0) return size_t{0};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(left, capacity));
    for (;;) {
      const ssize_t n = ::read(fd_.get(), out, want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError(fmt::format("cannot read {}: {}", what_, std::strerror(errno)));
      if (n == 0)
        return Status::IOError(fmt::format("{} shrank while being read ({} of {} bytes)", what_, done_, size_));
      done_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  Fd fd_;
  uint64_t size_;
  uint64_t done_ = 0;
  std::string what_;
};

struct LocalFile {
  Fd fd;
  uint64_t size = 0;
};

// Opens `path` below `run_dir` without following any link; nullopt when there is no regular file.
Result<std::optional<LocalFile>> OpenLocal(const fs::path& run_dir, std::string_view path) {
  Fd dir(::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    if (Absent(errno)) return std::optional<LocalFile>();
    return Status::IOError(fmt::format("cannot open {}: {}", run_dir.string(), std::strerror(errno)));
  }
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string part(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) {
      // O_NONBLOCK: a FIFO must not block the open; it is refused below as not regular.
      Fd file(::openat(dir.get(), part.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
      if (file.get() < 0) {
        if (Absent(errno)) return std::optional<LocalFile>();
        return Status::IOError(fmt::format("cannot open {} in {}: {}", path, run_dir.string(), std::strerror(errno)));
      }
      struct stat st;
      if (::fstat(file.get(), &st) != 0)
        return Status::IOError(fmt::format("cannot stat {} in {}: {}", path, run_dir.string(), std::strerror(errno)));
      if (!S_ISREG(st.st_mode)) return std::optional<LocalFile>();
      const int flags = ::fcntl(file.get(), F_GETFL);
      if (flags >= 0) ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK);
      return std::optional<LocalFile>(LocalFile{std::move(file), static_cast<uint64_t>(st.st_size)});
    }
    Fd next(::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) {
      if (Absent(errno)) return std::optional<LocalFile>();
      return Status::IOError(fmt::format("cannot open {} in {}: {}", path, run_dir.string(), std::strerror(errno)));
    }
    dir = std::move(next);
    start = slash + 1;
  }
}

Status CheckIds(std::string_view run_id, std::string_view path) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  return ValidateRunFilePath(path);
}

}  // namespace

bool RunFolderFiles::Remote(std::string_view run_id) const {
  if (!remote_) return false;
  std::error_code ec;
  // An error telling is "here": never guess that a folder this disk may hold is someone else's.
  return !fs::exists(layout_.run_dir(run_id), ec) && !ec;
}

std::string RunFolderFiles::Relative(std::string_view run_id, const fs::path& in_run_dir) const {
  return in_run_dir.lexically_relative(layout_.run_dir(run_id)).generic_string();
}

Result<std::vector<PublishedRunFile>> RunFolderFiles::List(std::string_view run_id, std::string_view dir) const {
  RUNTRACK_RETURN_IF_ERROR(CheckIds(run_id, dir));
  std::vector<PublishedRunFile> out;
  const std::string prefix = std::string(dir) + "/";
  if (Remote(run_id)) {
    RUNTRACK_ASSIGN_OR_RETURN(auto files, remote_->ListFiles(run_id));
    for (PublishedRunFile& f : files)
      if (f.path.rfind(prefix, 0) == 0) out.push_back(std::move(f));
  } else {
    // Every component of `dir` must be a real folder: a link is not followed, as below it.
    fs::path folder = layout_.run_dir(run_id);
    for (const auto& part : fs::path(std::string(dir))) {
      folder /= part;
      std::error_code ec;
      const fs::file_status st = fs::symlink_status(folder, ec);
      if (ec || !fs::is_directory(st)) return out;
    }
    std::error_code ec;
    for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code fec;
      const fs::file_status st = it->symlink_status(fec);
      if (fec || !fs::is_regular_file(st)) continue;
      const uint64_t size = it->file_size(fec);
      if (fec) continue;
      std::string path = prefix + it->path().lexically_relative(folder).generic_string();
      // What the publisher refuses is not exported here either, so every replica lists the same.
      if (!ValidateRunFilePath(path).ok()) continue;
      out.push_back({std::move(path), size});
    }
    if (ec) return Status::IOError(fmt::format("cannot list {}: {}", folder.string(), ec.message()));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

Result<std::optional<uint64_t>> RunFolderFiles::Size(std::string_view run_id, std::string_view path) const {
  RUNTRACK_RETURN_IF_ERROR(CheckIds(run_id, path));
  if (Remote(run_id)) {
    RUNTRACK_ASSIGN_OR_RETURN(auto files, remote_->ListFiles(run_id));
    for (const PublishedRunFile& f : files)
      if (f.path == path) return std::optional<uint64_t>(f.size);
    return std::optional<uint64_t>();
  }
  RUNTRACK_ASSIGN_OR_RETURN(auto file, OpenLocal(layout_.run_dir(run_id), path));
  if (!file) return std::optional<uint64_t>();
  return std::optional<uint64_t>(file->size);
}

Result<std::unique_ptr<RunFileStream>> RunFolderFiles::Open(std::string_view run_id, std::string_view path) const {
  RUNTRACK_RETURN_IF_ERROR(CheckIds(run_id, path));
  if (Remote(run_id)) return remote_->OpenFile(run_id, path);
  RUNTRACK_ASSIGN_OR_RETURN(auto file, OpenLocal(layout_.run_dir(run_id), path));
  if (!file) return Status::NotFound("Run file not found");
  return std::unique_ptr<RunFileStream>(std::make_unique<LocalRunFileStream>(
      std::move(file->fd), file->size, fmt::format("the file {} of run {}", path, run_id)));
}

Result<std::string> ReadRunFileStream(RunFileStream& stream, uint64_t max_bytes) {
  if (stream.size() > max_bytes)
    return Status::IOError(fmt::format("a run file of {} bytes is larger than {} bytes", stream.size(), max_bytes));
  std::string out(static_cast<size_t>(stream.size()), '\0');
  size_t done = 0;
  while (done < out.size()) {
    RUNTRACK_ASSIGN_OR_RETURN(size_t n, stream.Read(out.data() + done, out.size() - done));
    if (n == 0) return Status::Corruption(fmt::format("a run file ended after {} of its {} bytes", done, out.size()));
    done += n;
  }
  // The end must be where the size says (a checked stream verified its content with its last window).
  char probe;
  RUNTRACK_ASSIGN_OR_RETURN(size_t extra, stream.Read(&probe, 1));
  if (extra != 0) return Status::Corruption("a run file holds more bytes than its size");
  return out;
}

}  // namespace runicorn::service
