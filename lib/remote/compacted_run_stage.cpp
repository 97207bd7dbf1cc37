// CompactedRunStage (include/runtrack/compacted_run.h): the sealed files of a run being fetched,
// streamed into temporary files of the run's local folder, never held whole in memory.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "runtrack/compacted_run.h"
#include "runtrack/validation.h"
#include "util/files.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace {

// "<8 lower-case hex>-<16 lower-case hex>.seg" or ".lod": StoreLayout::segment_path / lod_path.
bool IsSealedFileName(std::string_view n) {
  if (n.size() != 8 + 1 + 16 + 4 || n[8] != '-') return false;
  if (n.substr(25) != ".seg" && n.substr(25) != ".lod") return false;
  for (size_t i = 0; i < 25; ++i) {
    if (i == 8) continue;
    const char c = n[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

CompactedRunStage::CompactedRunStage(StoreLayout layout, std::string run_id, bool created_dir)
    : layout_(std::move(layout)), run_id_(std::move(run_id)), created_dir_(created_dir) {}

Result<std::unique_ptr<CompactedRunStage>> CompactedRunStage::Begin(const StoreLayout& layout,
                                                                    std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  const fs::path dir = layout.run_dir(run_id);
  const bool created = ::mkdir(dir.c_str(), 0755) == 0;
  if (!created && errno != EEXIST) return util::ErrnoStatus("create run directory", dir);
  // The installer renames into this folder and syncs it; the folder's own name must be durable
  // before anything in it counts.
  if (created) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.runs_dir()));
  return std::unique_ptr<CompactedRunStage>(new CompactedRunStage(layout, std::string(run_id), created));
}

CompactedRunStage::~CompactedRunStage() {
  if (fd_ >= 0) ::close(fd_);
  // Installed files were renamed away (ENOENT here); the rest are removed.
  for (const fs::path& p : written_) ::unlink(p.c_str());
  // Only succeeds while the folder is empty: never removes a run that was installed.
  if (created_dir_) ::rmdir(layout_.run_dir(run_id_).c_str());
}

Status CompactedRunStage::Start(const std::string& name, uint64_t max_bytes) {
  if (fd_ >= 0) return Status::FailedPrecondition("a staged file is still open");
  if (!IsSealedFileName(name))
    return Status::InvalidArgument(fmt::format("run {}: not a sealed file name; refused", run_id_));
  const fs::path path = layout_.run_dir(run_id_) / (".fetch-" + name);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return util::ErrnoStatus("create", path, errno);
  written_.push_back(path);
  name_ = name;
  size_ = 0;
  max_bytes_ = max_bytes;
  return Status::Ok();
}

Status CompactedRunStage::Append(std::string_view piece) {
  if (fd_ < 0) return Status::FailedPrecondition("no staged file is open");
  if (piece.size() > max_bytes_ - size_)
    return Status::Corruption(fmt::format("run {}: segments/{} is longer than {} bytes", run_id_, name_, max_bytes_));
  while (!piece.empty()) {
    const ssize_t n = ::write(fd_, piece.data(), piece.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::ErrnoStatus("write", written_.back(), errno);
    }
    piece.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Result<CompactedRunFile> CompactedRunStage::Finish() {
  if (fd_ < 0) return Status::FailedPrecondition("no staged file is open");
  const int fd = fd_;
  fd_ = -1;
  if (::fdatasync(fd) != 0) {
    Status s = util::ErrnoStatus("fdatasync", written_.back(), errno);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return util::ErrnoStatus("close", written_.back(), errno);
  CompactedRunFile f;
  f.name = name_;
  f.staged = written_.back();
  return f;
}

}  // namespace runtrack
