#include "artifacts/chunk_ingest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "util/files.h"
#include "artifacts/sha256.h"

namespace runtrack::artifacts {
namespace {

// Below this many bytes per segment a helper thread costs more than it saves.
constexpr size_t kParallelThreshold = 4 << 20;

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) ::close(fd); }
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

  // The buffer holds at least two maximal chunks, so each refill yields at least one cut.
  const size_t capacity = std::max<size_t>(32u << 20, 2 * cdc.max_size());
  std::unique_ptr<uint8_t[]> buf(new uint8_t[capacity]);
  size_t len = 0;
  bool eof = false;
  Sha256 file_hash;
  Sha256 chunk_hash;
  record->size = 0;
  record->chunks.clear();

  while (!eof || len > 0) {
    while (!eof && len < capacity) {
      ssize_t r = ::read(in.fd, buf.get() + len, capacity - len);
      if (r < 0) {
        if (errno == EINTR) continue;
        return util::ErrnoStatus("read", source, errno);
      }
      if (r == 0) eof = true;
      len += static_cast<size_t>(r);
    }
    // Cut every chunk whose end is decided: all of them at end of file, otherwise only those that
    // leave at least max_size bytes behind (a later byte could still move the cut).
    std::vector<std::pair<size_t, size_t>> cuts;  // (offset, length)
    size_t pos = 0;
    while (pos < len && (eof || len - pos >= cdc.max_size())) {
      size_t n = cdc.FindCut(buf.get() + pos, len - pos);
      cuts.emplace_back(pos, n);
      pos += n;
    }
    std::thread helper;
    if (pos >= kParallelThreshold) {
      helper = std::thread([&file_hash, data = buf.get(), pos] { file_hash.Update(data, pos); });
    } else {
      file_hash.Update(buf.get(), pos);
    }
    Status status;
    for (const auto& [off, n] : cuts) {
      chunk_hash.Update(buf.get() + off, n);
      std::string hex = ToHex(chunk_hash.Final());
      auto written = store.Put(hex, buf.get() + off, n, dirty_dirs);
      if (!written.ok()) {
        status = written.status();
        break;
      }
      record->chunks.push_back(ChunkRef{std::move(hex), n});
      if (stats != nullptr) {
        stats->chunks++;
        if (*written) {
          stats->new_chunks++;
          stats->bytes_written += n;
        }
      }
    }
    if (helper.joinable()) helper.join();
    RUNTRACK_RETURN_IF_ERROR(status);
    record->size += pos;
    std::memmove(buf.get(), buf.get() + pos, len - pos);
    len -= pos;
    if (eof && len == 0) break;
  }
  if (stats != nullptr) stats->bytes_read += record->size;
  record->digest = "sha256:" + ToHex(file_hash.Final());
  return Status::Ok();
}

}  // namespace runtrack::artifacts
