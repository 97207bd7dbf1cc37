#include "artifacts/file_assembler.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
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

// "chunk <sha> of file '<path>' <what>" as Corruption.
Status ChunkError(const FileRecord& f, const ChunkRef& c, std::string_view what) {
  return Status::Corruption("chunk " + c.sha256 + " of file '" + f.path + "' " + std::string(what));
}

// A descriptor for reading chunk file `p`; NotFound naming the chunk and the file if it is missing.
Result<int> OpenChunk(const std::filesystem::path& p, const FileRecord& f, const ChunkRef& c) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) return fd;
  if (errno == ENOENT) {
    return Status::NotFound("chunk " + c.sha256 + " of file '" + f.path + "' is missing from the store");
  }
  return util::ErrnoStatus("open", p, errno);
}

// The bytes of one chunk, mapped read-only: hashing and placing them then costs no copy into a
// buffer. Chunk files are immutable (only ever replaced whole by rename, or unlinked, neither of
// which disturbs an existing mapping), so a mapping cannot lose its pages underneath us.
class MappedChunk {
 public:
  MappedChunk() = default;
  MappedChunk(const MappedChunk&) = delete;
  MappedChunk& operator=(const MappedChunk&) = delete;
  ~MappedChunk() { Reset(); }
  void Reset() {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = nullptr;
    size_ = 0;
  }
  Status Open(const Layout& layout, const FileRecord& f, const ChunkRef& c) {
    std::filesystem::path p = layout.blob_path(c.sha256);
    RUNTRACK_ASSIGN_OR_RETURN(int fd, OpenChunk(p, f, c));
    struct stat st {};
    Status s;
    if (::fstat(fd, &st) != 0) {
      s = util::ErrnoStatus("stat", p, errno);
    } else if (static_cast<uint64_t>(st.st_size) != c.size) {
      s = ChunkError(f, c, "has the wrong size");
    } else if (c.size > 0) {
      // MAP_POPULATE faults every page in at once instead of one fault per few pages.
      void* m = ::mmap(nullptr, c.size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m == MAP_FAILED) s = util::ErrnoStatus("mmap", p, errno);
      else data_ = static_cast<uint8_t*>(m), size_ = c.size;
    }
    ::close(fd);
    return s;
  }
  const uint8_t* data() const { return data_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A chunk missing from blobs/, from the attached source: exactly c.size bytes (Verify follows).
// The source's NotFound and Corruption keep their code; any other failure of the source (its
// credentials, its network) is the server's problem, not the caller's: IOError.
Result<std::string> FetchMissing(const ChunkSource& source, const FileRecord& f, const ChunkRef& c) {
  auto bytes = source.Read(c.sha256, c.size);
  if (!bytes.ok()) {
    StatusCode code = bytes.status().code();
    if (code != StatusCode::kNotFound && code != StatusCode::kCorruption) code = StatusCode::kIOError;
    return Status(code, "chunk " + c.sha256 + " of file '" + f.path + "' is not in blobs/, and reading it from " +
                            source.Describe() + " failed: " + bytes.status().message());
  }
  if (bytes->size() != c.size) return ChunkError(f, c, "has the wrong size in " + source.Describe());
  return bytes;
}

Status ReadChunk(const Layout& layout, const FileRecord& f, const ChunkRef& c, uint8_t* buf,
                 const ChunkSource* missing) {
  std::filesystem::path p = layout.blob_path(c.sha256);
  auto opened = OpenChunk(p, f, c);
  if (!opened.ok() && opened.status().code() == StatusCode::kNotFound && missing != nullptr) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, FetchMissing(*missing, f, c));
    std::memcpy(buf, bytes.data(), bytes.size());
    return Status::Ok();
  }
  RUNTRACK_ASSIGN_OR_RETURN(int fd, std::move(opened));
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
    s = ChunkError(f, c, "has the wrong size");
  }
  ::close(fd);
  return s;
}

Status Verify(const FileRecord& f, const ChunkRef& c, const uint8_t* data) {
  if (ToHex(Sha256Of(data, c.size)) == c.sha256) return Status::Ok();
  return ChunkError(f, c, "does not match its digest");
}

// Chunks verified ahead of the one being placed, at most: bounds the mappings held.
constexpr size_t kWindow = 64;

enum ChunkState : int { kPending = 0, kReady = 1, kFailed = 2 };

// One chunk on its way: claimed and verified by any thread, placed by the calling thread.
struct Slot {
  std::atomic<int> state{kPending};
  MappedChunk mapping;
  std::string fetched;  // a chunk missing from blobs/, from the ChunkSource
  const uint8_t* data = nullptr;
  Status error;
};

// Verifies chunks on any number of threads and places them in file order on the calling thread.
// Only one thread ever writes to the sink's file: concurrent writers of one file serialise on its
// inode lock, and the waiter spins, burning the CPU the hashing needs.
class OrderedAssembly {
 public:
  OrderedAssembly(const Layout& layout, const FileRecord& f, AssemblySink& sink, const ChunkSource* missing)
      : layout_(layout), f_(f), sink_(sink), missing_(missing), slots_(f.chunks.size()), offsets_(f.chunks.size()) {
    uint64_t off = 0;
    for (size_t k = 0; k < f.chunks.size(); ++k) {
      offsets_[k] = off;
      off += f.chunks[k].size;
    }
    total_ = off;
  }

  uint64_t total() const { return total_; }

  // Helper threads: verify chunks until none are left or the assembly stopped.
  void HelpLoop() {
    while (!stop_.load(std::memory_order_acquire)) {
      if (VerifyOne()) continue;
      if (next_claim_.load() >= slots_.size()) return;
      size_t placed = placed_.load(std::memory_order_acquire);
      if (next_claim_.load() >= placed + kWindow) placed_.wait(placed);  // window full
    }
  }

  // The calling thread: places chunk after chunk, verifying chunks itself while the next one to
  // place is not ready. Returns the first failure in file order.
  Status PlaceAll(const std::function<void(uint64_t)>& on_progress) {
    Status result;
    uint64_t done = 0;
    for (size_t k = 0; k < slots_.size(); ++k) {
      Slot& slot = slots_[k];
      while (slot.state.load(std::memory_order_acquire) == kPending) {
        if (!VerifyOne()) slot.state.wait(kPending, std::memory_order_acquire);  // another thread has it
      }
      if (slot.state.load(std::memory_order_acquire) == kFailed) {
        result = slot.error;
        break;
      }
      result = sink_.Place(offsets_[k], slot.data, f_.chunks[k].size);
      slot.mapping.Reset();
      std::string().swap(slot.fetched);
      if (!result.ok()) break;
      placed_.store(k + 1, std::memory_order_release);
      placed_.notify_all();
      done += f_.chunks[k].size;
      if (on_progress) on_progress(done);
    }
    Stop();
    return result;
  }

 private:
  // Claims the next chunk inside the window and verifies it; false if there is none to claim.
  bool VerifyOne() {
    size_t k = next_claim_.load();
    do {
      if (k >= slots_.size() || k >= placed_.load(std::memory_order_acquire) + kWindow ||
          stop_.load(std::memory_order_acquire)) {
        return false;
      }
    } while (!next_claim_.compare_exchange_weak(k, k + 1));
    Slot& slot = slots_[k];
    try {
      slot.error = Load(f_.chunks[k], offsets_[k], &slot);
    } catch (const std::exception& e) {
      slot.error = Status::Internal(std::string("assembling '") + f_.path + "': " + e.what());
    }
    slot.state.store(slot.error.ok() ? kReady : kFailed, std::memory_order_release);
    slot.state.notify_all();
    return true;
  }

  // Into the sink's own memory when it has some, else through a mapping.
  Status Load(const ChunkRef& c, uint64_t offset, Slot* slot) {
    if (uint8_t* dest = sink_.Destination(offset)) {
      RUNTRACK_RETURN_IF_ERROR(ReadChunk(layout_, f_, c, dest, missing_));
      slot->data = dest;
    } else {
      Status mapped = slot->mapping.Open(layout_, f_, c);
      if (!mapped.ok() && mapped.code() == StatusCode::kNotFound && missing_ != nullptr) {
        RUNTRACK_ASSIGN_OR_RETURN(slot->fetched, FetchMissing(*missing_, f_, c));
        slot->data = reinterpret_cast<const uint8_t*>(slot->fetched.data());
      } else {
        RUNTRACK_RETURN_IF_ERROR(mapped);
        slot->data = slot->mapping.data();
      }
    }
    return Verify(f_, c, slot->data);
  }

  void Stop() {
    stop_.store(true, std::memory_order_release);
    placed_.store(SIZE_MAX / 2, std::memory_order_release);  // wakes helpers waiting on the window
    placed_.notify_all();
  }

  const Layout& layout_;
  const FileRecord& f_;
  AssemblySink& sink_;
  const ChunkSource* missing_;
  std::vector<Slot> slots_;
  std::vector<uint64_t> offsets_;
  uint64_t total_ = 0;
  std::atomic<size_t> next_claim_{0};
  std::atomic<size_t> placed_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace

Status AssembleFile(const Layout& layout, const FileRecord& f, AssemblySink& sink,
                    const std::function<void(uint64_t bytes_done)>& on_progress, const ChunkSource* missing) {
  OrderedAssembly assembly(layout, f, sink, missing);
  if (assembly.total() != f.size) {
    return Status::Corruption("file '" + f.path + "': its chunks add up to " + std::to_string(assembly.total()) +
                              " bytes, the manifest says " + std::to_string(f.size));
  }
  std::vector<std::thread> helpers;
  if (f.size >= kParallelThreshold) {
    size_t extra = std::min<size_t>(util::TaskGroup::DefaultWorkers() - 1, f.chunks.size() - 1);
    try {
      for (size_t i = 0; i < extra; ++i) helpers.emplace_back([&assembly] { assembly.HelpLoop(); });
    } catch (const std::system_error&) {
      // No more threads to be had: the ones started and the calling thread do the work.
    }
  }
  Status s = assembly.PlaceAll(on_progress);
  for (auto& t : helpers) t.join();
  return s;
}

Status ReadVerifiedChunk(const Layout& layout, const FileRecord& file, const ChunkRef& chunk, uint8_t* buf,
                         const ChunkSource* missing) {
  RUNTRACK_RETURN_IF_ERROR(ReadChunk(layout, file, chunk, buf, missing));
  return Verify(file, chunk, buf);
}

}  // namespace runtrack::artifacts
