#include "journal/journal_compaction.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "journal/journal_reader.h"
#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack::journal {
namespace fs = std::filesystem;
namespace {

constexpr uint8_t kMarkerVersion = 1;
constexpr size_t kMarkerFixedSize = 1 + 8 + 8 + 8 + 8 + 4;
constexpr size_t kMarkerSeriesSize = 4 + 8 + 8 + 4 + 8;

void PutU64(std::string* out, uint64_t v) { out->append(reinterpret_cast<const char*>(&v), 8); }
uint64_t GetU64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Written in slices, so a journal with megabytes of logs costs bounded memory.
class OutputFile {
 public:
  OutputFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {}
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string& buffer() { return buffer_; }
  uint64_t size() const { return written_ + buffer_.size(); }
  Status MaybeFlush() { return buffer_.size() >= (1u << 20) ? Flush() : Status::Ok(); }
  Status Flush() {
    RUNTRACK_RETURN_IF_ERROR(util::WriteAll(fd_, buffer_.data(), buffer_.size(), path_));
    written_ += buffer_.size();
    buffer_.clear();
    return Status::Ok();
  }
  Status PwriteAt(uint64_t offset, std::string_view bytes) {
    return util::PwriteAll(fd_, bytes.data(), bytes.size(), offset, path_);
  }
  Status SyncAndClose() {
    RUNTRACK_RETURN_IF_ERROR(Flush());
    if (::fdatasync(fd_) != 0) return util::ErrnoStatus("fdatasync", path_);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return util::ErrnoStatus("close", path_);
    return Status::Ok();
  }

 private:
  int fd_;
  fs::path path_;
  std::string buffer_;
  uint64_t written_ = 0;
};

}  // namespace

std::string EncodeCompactionMarker(const CompactionMarker& m) {
  std::string out;
  out.reserve(kMarkerFixedSize + kMarkerSeriesSize * m.series.size());
  out.push_back(static_cast<char>(kMarkerVersion));
  PutU64(&out, m.original_length);
  PutU64(&out, m.compacted_length);
  PutU64(&out, m.points);
  uint64_t updated_bits;
  std::memcpy(&updated_bits, &m.points_updated_at, 8);
  PutU64(&out, updated_bits);
  PutU32(&out, static_cast<uint32_t>(m.series.size()));
  for (const CompactedSeries& s : m.series) {
    PutU32(&out, s.series_id);
    PutU64(&out, s.point_count);
    PutU64(&out, s.segment_size);
    PutU32(&out, s.footer_crc32c);
    PutU64(&out, s.lod_size);
  }
  return out;
}

Result<CompactionMarker> DecodeCompactionMarker(std::string_view p) {
  if (p.size() < kMarkerFixedSize || static_cast<uint8_t>(p[0]) != kMarkerVersion)
    return Status::Corruption(fmt::format("compaction record of {} bytes, version {}: this build reads version {}",
                                          p.size(), p.empty() ? 0 : static_cast<uint8_t>(p[0]), kMarkerVersion));
  CompactionMarker m;
  m.original_length = GetU64(p.data() + 1);
  m.compacted_length = GetU64(p.data() + 9);
  m.points = GetU64(p.data() + 17);
  const uint64_t updated_bits = GetU64(p.data() + 25);
  std::memcpy(&m.points_updated_at, &updated_bits, 8);
  const uint32_t count = GetU32(p.data() + 33);
  if (p.size() != kMarkerFixedSize + uint64_t{count} * kMarkerSeriesSize)
    return Status::Corruption(fmt::format("compaction record of {} bytes does not hold {} series", p.size(), count));
  uint64_t total = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const char* at = p.data() + kMarkerFixedSize + size_t{i} * kMarkerSeriesSize;
    CompactedSeries s;
    s.series_id = GetU32(at);
    s.point_count = GetU64(at + 4);
    s.segment_size = GetU64(at + 12);
    s.footer_crc32c = GetU32(at + 20);
    s.lod_size = GetU64(at + 24);
    total += s.point_count;
    m.series.push_back(s);
  }
  if (total != m.points)
    return Status::Corruption(fmt::format("compaction record lists {} points in its series but {} in all", total, m.points));
  return m;
}

Result<std::optional<CompactionMarker>> ReadCompactionMarker(const fs::path& journal) {
  int fd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", journal);
  auto read_at = [&](uint64_t offset, size_t n) -> Result<std::string> {
    std::string buf(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return util::ErrnoStatus("read", journal);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    return buf;
  };
  auto result = [&]() -> Result<std::optional<CompactionMarker>> {
    RUNTRACK_ASSIGN_OR_RETURN(std::string head, read_at(0, kHeaderSize + kRecordHeaderSize));
    if (head.size() < kHeaderSize + kRecordHeaderSize || std::memcmp(head.data(), kMagic, sizeof kMagic) != 0 ||
        static_cast<RecordType>(head[kHeaderSize + 8]) != kCompactedRecord)
      return std::optional<CompactionMarker>();
    const uint32_t length = GetU32(head.data() + kHeaderSize);
    if (length < 1 + kMarkerFixedSize || length > kMaxRecordLength) return std::optional<CompactionMarker>();
    RUNTRACK_ASSIGN_OR_RETURN(std::string body, read_at(kHeaderSize + 8, length));
    // A first record that fails its checksum is damage, not a marker: the journal reader reports it.
    if (body.size() != length || util::Crc32c(body) != GetU32(head.data() + kHeaderSize + 4))
      return std::optional<CompactionMarker>();
    RUNTRACK_ASSIGN_OR_RETURN(CompactionMarker marker, DecodeCompactionMarker(std::string_view(body).substr(1)));
    return std::optional<CompactionMarker>(std::move(marker));
  }();
  ::close(fd);
  return result;
}

bool BeginsWithCompactionMarker(std::string_view bytes, uint64_t offset) {
  if (offset > kHeaderSize) return false;
  const uint64_t type_at = kHeaderSize + 8 - offset;
  return bytes.size() > type_at && static_cast<RecordType>(bytes[type_at]) == kCompactedRecord;
}

Result<CompactionScan> WriteCompactedJournal(const fs::path& journal, uint64_t expected_length, const fs::path& tmp,
                                             CompactionMarker marker,
                                             const std::function<Status(const PackedPoint&)>& on_point) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("create", tmp);
  OutputFile out(fd, tmp);
  // The marker's fields are fixed-width: a placeholder now, the final values written over it.
  marker.original_length = expected_length;
  marker.points = 0;
  for (const CompactedSeries& s : marker.series) marker.points += s.point_count;
  out.buffer() = EncodeHeader();
  AppendRecord(&out.buffer(), kCompactedRecord, EncodeCompactionMarker(marker));

  CompactionScan scan;
  double updated = -std::numeric_limits<double>::infinity();
  auto outcome = ReadJournal(
      journal, 0,
      [&](RecordType type, std::string_view payload) -> Status {
        if (type == kCompactedRecord)
          return Status::FailedPrecondition(fmt::format("{} is compacted already", journal.string()));
        if (type != RecordType::kPoints) {
          if (type == RecordType::kStatus) scan.has_status = true;
          AppendRecord(&out.buffer(), type, payload);
          ++scan.records_kept;
          return out.MaybeFlush();
        }
        const size_t n = payload.size() / sizeof(PackedPoint);
        for (size_t i = 0; i < n; ++i) {
          PackedPoint p;
          std::memcpy(&p, payload.data() + i * sizeof p, sizeof p);
          RUNTRACK_RETURN_IF_ERROR(on_point(p));
        }
        if (n > 0) {  // what JournalIngestor::ApplyPoints touches: the record's last point
          PackedPoint last;
          std::memcpy(&last, payload.data() + (n - 1) * sizeof last, sizeof last);
          updated = std::max(updated, last.wall_time);
        }
        ++scan.points_records;
        scan.points += n;
        return Status::Ok();
      },
      UINT64_MAX);
  if (!outcome.ok()) return outcome.status();
  if (outcome->corrupt || outcome->torn_tail || outcome->next_offset != expected_length)
    return Status::FailedPrecondition(fmt::format(
        "{}: {} (read to {}, expected {}); not compacted", journal.string(),
        outcome->corrupt ? "damaged" : outcome->torn_tail ? "ends in a torn record" : "its length changed",
        outcome->next_offset, expected_length));
  marker.compacted_length = out.size();
  marker.points_updated_at = updated;
  std::string record;
  AppendRecord(&record, kCompactedRecord, EncodeCompactionMarker(marker));
  RUNTRACK_RETURN_IF_ERROR(out.Flush());
  RUNTRACK_RETURN_IF_ERROR(out.PwriteAt(kHeaderSize, record));
  scan.compacted_length = marker.compacted_length;
  RUNTRACK_RETURN_IF_ERROR(out.SyncAndClose());
  return scan;
}

Status PublishCompactedJournal(const fs::path& tmp, const fs::path& journal) {
  if (::rename(tmp.c_str(), journal.c_str()) != 0) return util::ErrnoStatus("rename", tmp);
  return util::SyncDir(journal.parent_path());
}

}  // namespace runtrack::journal
