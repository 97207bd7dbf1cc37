#include "artifacts/chunk_ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <latch>
#include <memory>
#include <vector>

#include "util/files.h"
#include "util/task_group.h"
#include "artifacts/sha256.h"

namespace runtrack::artifacts {
namespace {

// Bytes read per segment, and segments in flight: one being read, two being stored.
constexpr size_t kSegmentBytes = 16u << 20;
constexpr size_t kRingSize = 3;
// Files smaller than this are ingested on the calling thread: starting workers costs more.
constexpr uint64_t kParallelThreshold = 4u << 20;
// Threads that only wait for fdatasync: more of them keep more flushes in flight on the device,
// and they take no CPU from the hashing.
constexpr unsigned kPublishers = 8;

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
};

// One chunk's outcome, written only by the job that hashed and stored it.
struct ChunkResult {
  ChunkRef ref;
  bool written = false;
  Status status;
};

// A buffer of file bytes and the chunks cut from it. `pending` counts its chunks not yet stored
// (hashed, written and published), plus one until its bytes are in the whole-file hash; the
// buffer is refilled only once it reaches zero.
struct Segment {
  std::unique_ptr<uint8_t[]> data;
  size_t len = 0;
  std::vector<ChunkResult> results;
  std::unique_ptr<std::latch> pending;
};

class Ingestor {
 public:
  Ingestor(const FastCdc& cdc, ChunkStore& store, FileRecord* record, std::set<std::filesystem::path>* dirty_dirs,
           IngestStats* stats)
      : cdc_(cdc), store_(store), record_(record), dirty_dirs_(dirty_dirs), stats_(stats) {}

  Status Run(int fd, const std::filesystem::path& source, uint64_t file_size) {
    // Each segment holds at least two maximal chunks, so every refill yields at least one cut.
    const size_t capacity = std::max(kSegmentBytes, 2 * cdc_.max_size());
    for (auto& seg : ring_) seg.data.reset(new uint8_t[capacity]);
    // Locals, so they finish their jobs and stop before the ring (a member) goes away; the
    // publishers are declared first and so stop last, since worker jobs hand chunks to them.
    const bool parallel = file_size >= kParallelThreshold;
    util::TaskGroup publishers(parallel && store_.syncs() ? kPublishers : 0);
    util::TaskGroup workers(parallel ? util::TaskGroup::DefaultWorkers() : 0);
    // One thread, so segments enter the whole-file hash in order.
    util::TaskGroup file_hasher(parallel ? 1 : 0);

    size_t carry_off = 0, carry_len = 0;  // the undecided tail of the previous segment
    bool eof = false;
    size_t i = 0;
    for (;; ++i) {
      Segment& seg = ring_[i % kRingSize];
      RUNTRACK_RETURN_IF_ERROR(Collect(seg));
      seg.len = 0;
      if (carry_len > 0) {
        std::memcpy(seg.data.get(), ring_[(i + kRingSize - 1) % kRingSize].data.get() + carry_off, carry_len);
        seg.len = carry_len;
      }
      while (!eof && seg.len < capacity) {
        ssize_t r = ::read(fd, seg.data.get() + seg.len, capacity - seg.len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return util::ErrnoStatus("read", source, errno);
        if (r == 0) eof = true;
        seg.len += static_cast<size_t>(r);
      }
      size_t decided = Submit(seg, eof, workers, publishers, file_hasher);
      record_->size += decided;
      carry_off = decided;
      carry_len = seg.len - decided;
      if (eof && carry_len == 0) break;
    }
    // The segments still in flight, oldest first.
    for (size_t k = 1; k <= kRingSize; ++k) RUNTRACK_RETURN_IF_ERROR(Collect(ring_[(i + k) % kRingSize]));
    record_->digest = "sha256:" + ToHex(file_hash_.Final());
    if (stats_ != nullptr) stats_->bytes_read += record_->size;
    return Status::Ok();
  }

 private:
  // Cuts every chunk of `seg` whose end is decided (all of them at end of file; otherwise those
  // that leave at least max_size bytes behind, since a later byte could still move the cut),
  // hands each to a worker, which passes new chunks on to a publisher, and the cut bytes to the
  // whole-file hash. Returns the number of bytes cut.
  size_t Submit(Segment& seg, bool eof, util::TaskGroup& workers, util::TaskGroup& publishers,
                util::TaskGroup& file_hasher) {
    std::vector<std::pair<size_t, size_t>> cuts;  // (offset, length)
    size_t pos = 0;
    while (pos < seg.len && (eof || seg.len - pos >= cdc_.max_size())) {
      size_t n = cdc_.FindCut(seg.data.get() + pos, seg.len - pos);
      cuts.emplace_back(pos, n);
      pos += n;
    }
    seg.results.assign(cuts.size(), ChunkResult{});
    seg.pending = std::make_unique<std::latch>(static_cast<std::ptrdiff_t>(cuts.size() + 1));
    file_hasher.Submit([this, &seg, pos] {
      file_hash_.Update(seg.data.get(), pos);
      seg.pending->count_down();
    });
    for (size_t k = 0; k < cuts.size(); ++k) {
      workers.Submit([this, &seg, &publishers, k, data = seg.data.get() + cuts[k].first, n = cuts[k].second] {
        ChunkResult& r = seg.results[k];
        r.ref = ChunkRef{ToHex(Sha256Of(data, n)), n};
        auto staged = store_.Stage(r.ref.sha256, data, n);
        if (!staged.ok() || !staged->has_value()) {
          r.status = staged.status();
          seg.pending->count_down();
          return;
        }
        r.written = true;
        publishers.Submit([this, &seg, &r, chunk = std::move(**staged)] {
          r.status = store_.Publish(chunk);
          seg.pending->count_down();
        });
      });
    }
    return pos;
  }

  // Waits for the jobs of `seg` and appends its chunks to the record, in file order.
  Status Collect(Segment& seg) {
    if (!seg.pending) return Status::Ok();
    seg.pending->wait();
    seg.pending.reset();
    for (auto& r : seg.results) {
      RUNTRACK_RETURN_IF_ERROR(r.status);
      if (r.written && dirty_dirs_ != nullptr) dirty_dirs_->insert(store_.PathOf(r.ref.sha256).parent_path());
      if (stats_ != nullptr) {
        stats_->chunks++;
        if (r.written) {
          stats_->new_chunks++;
          stats_->bytes_written += r.ref.size;
        }
      }
      record_->chunks.push_back(std::move(r.ref));
    }
    seg.results.clear();
    return Status::Ok();
  }

  const FastCdc& cdc_;
  ChunkStore& store_;
  FileRecord* record_;
  std::set<std::filesystem::path>* dirty_dirs_;
  IngestStats* stats_;
  Sha256 file_hash_;
  Segment ring_[kRingSize];
};

}  // namespace

Status IngestFile(const std::filesystem::path& source, const FastCdc& cdc, ChunkStore& store,
                  FileRecord* record, std::set<std::filesystem::path>* dirty_dirs, IngestStats* stats) {
  Fd in;
  in.fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return util::ErrnoStatus("open", source, errno);
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return util::ErrnoStatus("stat", source, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(source.string() + " is not a regular file");
  ::posix_fadvise(in.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  record->size = 0;
  record->chunks.clear();
  Ingestor ingestor(cdc, store, record, dirty_dirs, stats);
  return ingestor.Run(in.fd, source, static_cast<uint64_t>(st.st_size));
}

}  // namespace runtrack::artifacts
