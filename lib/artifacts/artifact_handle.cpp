// ArtifactHandle: re-assembles files from their chunks and verifies them before they become
// visible under their real names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <thread>

#include "util/files.h"
#include "artifacts/handle_impl.h"
#include "artifacts/sha256.h"

namespace runtrack {
namespace fs = std::filesystem;
using artifacts::ChunkRef;
using artifacts::FileRecord;

namespace {

// Chunks smaller than this are hashed inline; a helper thread would cost more than it saves.
constexpr uint64_t kParallelChunk = 256 * 1024;

// Reads one whole chunk into `buf` (which must hold c.size bytes).
Status ReadChunk(const artifacts::Layout& layout, const FileRecord& f, const ChunkRef& c, uint8_t* buf) {
  fs::path p = layout.blob_path(c.sha256);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Status::NotFound("chunk " + c.sha256 + " of file '" + f.path + "' is missing from the store");
    }
    return util::ErrnoStatus("open", p, errno);
  }
  uint64_t got = 0;
  Status s;
  while (got < c.size) {
    ssize_t r = ::read(fd, buf + got, c.size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      s = util::ErrnoStatus("read", p, errno);
      break;
    }
    if (r == 0) break;
    got += static_cast<uint64_t>(r);
  }
  char extra;
  if (s.ok() && (got != c.size || ::read(fd, &extra, 1) != 0)) {
    s = Status::Corruption("chunk " + c.sha256 + " of file '" + f.path + "' has the wrong size");
  }
  ::close(fd);
  return s;
}

// After a whole-file digest mismatch: name the first chunk whose bytes do not match its name.
Status ExplainMismatch(const artifacts::Layout& layout, const FileRecord& f) {
  std::unique_ptr<uint8_t[]> buf;
  uint64_t cap = 0;
  for (const auto& c : f.chunks) {
    if (c.size > cap) {
      cap = c.size;
      buf.reset(new uint8_t[cap]);
    }
    RUNTRACK_RETURN_IF_ERROR(ReadChunk(layout, f, c, buf.get()));
    if (artifacts::ToHex(artifacts::Sha256Of(buf.get(), c.size)) != c.sha256) {
      return Status::Corruption("chunk " + c.sha256 + " of file '" + f.path + "' does not match its digest");
    }
  }
  return Status::Corruption("file '" + f.path + "' does not match its digest " + f.digest);
}

// Streams the chunks of `f` into `sink(data, n)` while hashing them on a helper thread, then
// checks the whole-file digest. The sink runs on the calling thread.
template <typename Sink>
Status Assemble(const artifacts::Layout& layout, const FileRecord& f, Sink&& sink) {
  uint64_t cap = 0;
  for (const auto& c : f.chunks) cap = std::max(cap, c.size);
  std::unique_ptr<uint8_t[]> bufs[2] = {std::unique_ptr<uint8_t[]>(new uint8_t[cap ? cap : 1]),
                                        std::unique_ptr<uint8_t[]>(new uint8_t[cap ? cap : 1])};
  artifacts::Sha256 hash;
  std::thread helper;
  Status status;
  for (size_t i = 0; i < f.chunks.size() && status.ok(); ++i) {
    const ChunkRef& c = f.chunks[i];
    uint8_t* buf = bufs[i % 2].get();  // the helper may still be hashing the other buffer
    status = ReadChunk(layout, f, c, buf);
    if (helper.joinable()) helper.join();
    if (!status.ok()) break;
    if (c.size >= kParallelChunk) {
      helper = std::thread([&hash, buf, n = c.size] { hash.Update(buf, n); });
    } else {
      hash.Update(buf, c.size);
    }
    status = sink(buf, c.size);
  }
  if (helper.joinable()) helper.join();
  RUNTRACK_RETURN_IF_ERROR(status);
  if ("sha256:" + artifacts::ToHex(hash.Final()) != f.digest) return ExplainMismatch(layout, f);
  return Status::Ok();
}

}  // namespace

const ArtifactVersionInfo& ArtifactHandle::info() const { return impl_->info; }
const std::vector<ArtifactFileInfo>& ArtifactHandle::files() const { return impl_->files; }
const std::vector<ArtifactReferenceInfo>& ArtifactHandle::references() const {
  return impl_->manifest.references;
}

Status ArtifactHandle::Download(const fs::path& dir) const {
  try {
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
    for (const auto& f : impl_->manifest.files) {
      // The manifest parser already refused unsafe paths; check again at the point of use.
      RUNTRACK_RETURN_IF_ERROR(ValidateArtifactPath(f.path));
      fs::path target = dir / fs::path(f.path);
      RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(target.parent_path()));
      fs::path tmp = target.parent_path() / util::UniqueTmpName(target.filename().string());
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) return util::ErrnoStatus("create", tmp, errno);
      Status s = Assemble(impl_->layout, f, [&](const uint8_t* data, uint64_t n) {
        return util::WriteAll(fd, data, n, tmp);
      });
      ::close(fd);
      if (s.ok() && ::rename(tmp.c_str(), target.c_str()) != 0) s = util::ErrnoStatus("rename", tmp, errno);
      if (!s.ok()) {
        ::unlink(tmp.c_str());
        return s;
      }
    }
    return Status::Ok();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("download failed: ") + e.what());
  }
}

Result<std::string> ArtifactHandle::ReadFile(std::string_view path) const {
  try {
    for (const auto& f : impl_->manifest.files) {
      if (f.path != path) continue;
      std::string out;
      out.reserve(f.size);
      RUNTRACK_RETURN_IF_ERROR(Assemble(impl_->layout, f, [&](const uint8_t* data, uint64_t n) {
        out.append(reinterpret_cast<const char*>(data), n);
        return Status::Ok();
      }));
      return out;
    }
    std::string names;
    for (size_t i = 0; i < impl_->files.size() && i < 20; ++i) names += (i ? ", " : "") + impl_->files[i].path;
    return Status::NotFound("file '" + std::string(path) + "' is not in " + impl_->info.name + ":v" +
                            std::to_string(impl_->info.version) + "; files: " + (names.empty() ? "none" : names));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("read failed: ") + e.what());
  }
}

}  // namespace runtrack
