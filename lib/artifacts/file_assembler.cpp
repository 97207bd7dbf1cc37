#include "artifacts/file_assembler.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "util/files.h"
#include "util/task_group.h"
#include "artifacts/sha256.h"

namespace runtrack::artifacts {
namespace {

// Files smaller than this are assembled by the calling thread alone: a thread costs more.
constexpr uint64_t kParallelThreshold = 4u << 20;

Status ReadChunk(const Layout& layout, const FileRecord& f, const ChunkRef& c, uint8_t* buf) {
  std::filesystem::path p = layout.blob_path(c.sha256);
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
  if (s.ok() && ToHex(Sha256Of(buf, c.size)) != c.sha256) {
    s = Status::Corruption("chunk " + c.sha256 + " of file '" + f.path + "' does not match its digest");
  }
  return s;
}

// The chunks of one file, handed out to threads in order; remembers the earliest failure.
class ChunkQueue {
 public:
  explicit ChunkQueue(const FileRecord& f) : offsets_(f.chunks.size()) {
    uint64_t off = 0;
    for (size_t k = 0; k < f.chunks.size(); ++k) {
      offsets_[k] = off;
      off += f.chunks[k].size;
      max_chunk_ = std::max(max_chunk_, f.chunks[k].size);
    }
    total_ = off;
  }

  uint64_t total() const { return total_; }
  uint64_t max_chunk() const { return max_chunk_; }
  uint64_t offset(size_t k) const { return offsets_[k]; }

  // The next chunk index, or false when all are taken or one has failed.
  bool Next(size_t* k) {
    if (failed_.load(std::memory_order_relaxed)) return false;
    *k = next_.fetch_add(1, std::memory_order_relaxed);
    return *k < offsets_.size();
  }
  void Fail(size_t k, Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (k < error_index_) {
      error_index_ = k;
      error_ = std::move(s);
    }
    failed_.store(true, std::memory_order_relaxed);
  }
  Status error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

 private:
  std::vector<uint64_t> offsets_;
  uint64_t total_ = 0;
  uint64_t max_chunk_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  size_t error_index_ = SIZE_MAX;
  Status error_;
};

}  // namespace

Status AssembleFile(const Layout& layout, const FileRecord& f, AssemblySink& sink,
                    const std::function<void(uint64_t bytes_done)>& on_progress) {
  ChunkQueue queue(f);
  if (queue.total() != f.size) {
    return Status::Corruption("file '" + f.path + "': its chunks add up to " + std::to_string(queue.total()) +
                              " bytes, the manifest says " + std::to_string(f.size));
  }
  std::atomic<uint64_t> done{0};
  auto work = [&](bool calling_thread) {
    std::unique_ptr<uint8_t[]> scratch(new uint8_t[queue.max_chunk() + 1]);
    size_t k;
    while (queue.Next(&k)) {
      const ChunkRef& c = f.chunks[k];
      try {
        uint8_t* buf = sink.Buffer(scratch.get(), queue.offset(k));
        Status s = ReadChunk(layout, f, c, buf);
        if (s.ok()) s = sink.Place(queue.offset(k), buf, c.size);
        if (!s.ok()) return queue.Fail(k, std::move(s));
      } catch (const std::exception& e) {
        return queue.Fail(k, Status::Internal(std::string("assembling '") + f.path + "': " + e.what()));
      }
      uint64_t now_done = done.fetch_add(c.size, std::memory_order_relaxed) + c.size;
      if (calling_thread && on_progress) on_progress(now_done);
    }
  };
  std::vector<std::thread> helpers;
  if (f.size >= kParallelThreshold) {
    size_t extra = std::min<size_t>(util::TaskGroup::DefaultWorkers() - 1, f.chunks.size() - 1);
    try {
      for (size_t i = 0; i < extra; ++i) helpers.emplace_back(work, false);
    } catch (const std::system_error&) {
      // No more threads to be had: the ones started and the calling thread do the work.
    }
  }
  work(true);
  for (auto& t : helpers) t.join();
  RUNTRACK_RETURN_IF_ERROR(queue.error());
  if (on_progress) on_progress(done.load());
  return Status::Ok();
}

}  // namespace runtrack::artifacts
