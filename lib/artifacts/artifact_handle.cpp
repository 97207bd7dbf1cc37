// ArtifactHandle: re-assembles files from their chunks (file_assembler.h) and publishes each
// under its real name only once all of its chunks are verified.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"
#include "artifacts/file_assembler.h"
#include "artifacts/handle_impl.h"
#include "util/guard.h"

namespace runtrack {
namespace fs = std::filesystem;
using artifacts::AssemblySink;

namespace {

// Download reports progress at most this often.
constexpr uint64_t kProgressStep = 4u << 20;

// Chunks are written from their mappings into a temporary file.
class FileSink : public AssemblySink {
 public:
  FileSink(int fd, const fs::path& path) : fd_(fd), path_(path) {}
  uint8_t* Destination(uint64_t) override { return nullptr; }
  Status Place(uint64_t offset, const uint8_t* data, uint64_t n) override {
    return util::PwriteAll(fd_, data, n, offset, path_);
  }

 private:
  int fd_;
  const fs::path& path_;
};

// Chunks are read straight into their place in memory.
class MemorySink : public AssemblySink {
 public:
  explicit MemorySink(char* base) : base_(reinterpret_cast<uint8_t*>(base)) {}
  uint8_t* Destination(uint64_t offset) override { return base_ + offset; }
  Status Place(uint64_t, const uint8_t*, uint64_t) override { return Status::Ok(); }

 private:
  uint8_t* base_;
};

}  // namespace

const ArtifactVersionInfo& ArtifactHandle::info() const { return impl_->info; }
const std::vector<ArtifactFileInfo>& ArtifactHandle::files() const { return impl_->files; }
const std::vector<ArtifactReferenceInfo>& ArtifactHandle::references() const {
  return impl_->manifest.references;
}

Status ArtifactHandle::Download(const fs::path& dir, const ProgressCallback& progress) const {
  return util::GuardStatus("download", [&]() -> Status {
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
    uint64_t total = 0;
    for (const auto& f : impl_->manifest.files) total += f.size;
    uint64_t finished_files_bytes = 0, reported = 0;
    if (progress) progress(0, total);
    auto on_file_progress = [&](uint64_t file_done) {
      uint64_t done = finished_files_bytes + file_done;
      if (progress && done - reported >= kProgressStep && done < total) {
        progress(done, total);
        reported = done;
      }
    };
    for (const auto& f : impl_->manifest.files) {
      // The manifest parser already refused unsafe paths; check again at the point of use.
      RUNTRACK_RETURN_IF_ERROR(ValidateArtifactPath(f.path));
      fs::path target = dir / fs::path(f.path);
      RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(target.parent_path()));
      fs::path tmp = target.parent_path() / util::UniqueTmpName(target.filename().string());
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) return util::ErrnoStatus("create", tmp, errno);
      FileSink sink(fd, tmp);
      Status s = artifacts::AssembleFile(impl_->layout, f, sink, on_file_progress, missing_chunks_.get());
      if (::close(fd) != 0 && s.ok()) s = util::ErrnoStatus("close", tmp, errno);
      if (s.ok() && ::rename(tmp.c_str(), target.c_str()) != 0) s = util::ErrnoStatus("rename", tmp, errno);
      if (!s.ok()) {
        ::unlink(tmp.c_str());
        return s;
      }
      finished_files_bytes += f.size;
    }
    if (progress && total > 0) progress(total, total);
    return Status::Ok();
  });
}

Result<const artifacts::FileRecord*> ArtifactHandle::Impl::FindFile(std::string_view path) const {
  for (const auto& f : manifest.files)
    if (f.path == path) return &f;
  std::string names;
  for (size_t i = 0; i < files.size() && i < 20; ++i) names += (i ? ", " : "") + files[i].path;
  return Status::NotFound("file '" + std::string(path) + "' is not in " + info.name + ":v" +
                          std::to_string(info.version) + "; files: " + (names.empty() ? "none" : names));
}

Result<std::string> ArtifactHandle::ReadFile(std::string_view path) const {
  return util::GuardStatus("read", [&]() -> Result<std::string> {
    RUNTRACK_ASSIGN_OR_RETURN(const artifacts::FileRecord* f, impl_->FindFile(path));
    std::string out(f->size, '\0');
    MemorySink sink(out.data());
    RUNTRACK_RETURN_IF_ERROR(artifacts::AssembleFile(impl_->layout, *f, sink, {}, missing_chunks_.get()));
    return out;
  });
}

ArtifactHandle ArtifactHandle::ReadingMissingChunksFrom(std::shared_ptr<const ChunkSource> source) const {
  ArtifactHandle copy(impl_);
  copy.missing_chunks_ = std::move(source);
  return copy;
}

}  // namespace runtrack
