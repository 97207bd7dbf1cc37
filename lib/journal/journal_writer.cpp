#include "journal/journal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

#include <boost/json/object.hpp>

#include "util/files.h"
#include "util/json.h"

namespace runtrack::journal {

void PendingRecords::Add(RecordType type, std::string payload) {
  bytes_ += payload.size() + kRecordHeaderSize;
  records_.push_back({type, std::move(payload)});
}

void PendingRecords::AddPoint(const PackedPoint& point) {
  if (records_.empty() || records_.back().type != RecordType::kPoints ||
      records_.back().payload.size() >= kMaxPointsRecordBytes) {
    records_.push_back({RecordType::kPoints, {}});
    records_.back().payload.reserve(4096);
    bytes_ += kRecordHeaderSize;
  }
  records_.back().payload.append(reinterpret_cast<const char*>(&point), sizeof point);
  bytes_ += sizeof point;
}

void PendingRecords::FrameInto(std::string* out) {
  out->reserve(out->size() + bytes_);
  for (const Record& r : records_) AppendRecord(out, r.type, r.payload);
  records_.clear();
  bytes_ = 0;
}

namespace {

// Allocates [offset, offset + n) without changing the file size. False with errno set on failure.
bool ReserveSpace(int fd, uint64_t offset, uint64_t n) {
  return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(n)) == 0;
}

bool ReserveUnsupported(int err) { return err == EOPNOTSUPP || err == ENOSYS; }

}  // namespace

Result<std::unique_ptr<JournalWriter>> JournalWriter::Create(const std::filesystem::path& path,
                                                             Policy policy) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("create journal", path);
  std::string header = EncodeHeader();
  // The reserve for a final I/O-failure record is taken before anything else is written. Failing
  // here is not fatal: the run may still fit; it only loses the guarantee on a full disk.
  bool reserve_supported = ReserveSpace(fd, 0, header.size() + kStatusReserveBytes) || !ReserveUnsupported(errno);
  if (::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    Status s = util::ErrnoStatus("write journal header", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<JournalWriter>(new JournalWriter(fd, path, policy, header.size(), reserve_supported));
}

JournalWriter::JournalWriter(int fd, std::filesystem::path path, Policy policy, uint64_t size,
                             bool reserve_supported)
    : fd_(fd), path_(std::move(path)), policy_(policy), size_(size), reserve_supported_(reserve_supported),
      flusher_([this] { FlusherLoop(); }) {}

JournalWriter::~JournalWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (flusher_.joinable()) flusher_.join();
  if (fd_ >= 0) {
    std::lock_guard io(io_mu_);
    (void)WritePending();
    ::close(fd_);
  }
}

void JournalWriter::FlusherLoop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, policy_.interval, [this] { return wake_ || stopping_; });
      wake_ = false;
      if (stopping_) return;
    }
    std::lock_guard io(io_mu_);
    if (fd_ >= 0) (void)WritePending();
  }
}

Status JournalWriter::WritePending() {
  PendingRecords batch;
  {
    std::lock_guard lock(mu_);
    if (pending_.empty()) return first_error_;
    std::swap(batch, pending_);
    if (failed_) return first_error_;  // the journal has ended: drop what came after
  }
  // Framing (copy + CRC) happens here, outside the buffer mutex, so appenders never wait for it.
  std::string framed;
  batch.FrameInto(&framed);
  // Allocate this batch plus the reserve first: if the disk is full, the reserve from the last
  // successful write is still there for the final record.
  if (reserve_supported_ && !ReserveSpace(fd_, size_, framed.size() + kStatusReserveBytes)) {
    if (!ReserveUnsupported(errno)) return FailWith("reserve space for journal", errno);
    reserve_supported_ = false;
  }
  std::string_view rest = framed;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailWith("write journal", errno);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  size_ += framed.size();
  return Status::Ok();
}

Status JournalWriter::FailWith(std::string_view op, int err) {
  Status error = util::ErrnoStatus(op, path_, err);
  {
    std::lock_guard lock(mu_);
    if (first_error_.ok()) first_error_ = error;
  }
  failed_ = true;
  // A short write leaves part of a record behind; cut it off so the final record follows whole
  // records (O_APPEND then writes it at size_).
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) != size_) (void)::ftruncate(fd_, static_cast<off_t>(size_));
  std::string reason = "io_error: " + std::generic_category().message(err);
  std::string record;
  AppendRecord(&record, RecordType::kStatus,
               util::SerializeJson(boost::json::object{
                   {"status", "failed"}, {"ended_at", util::NowSeconds()}, {"exit_reason", reason}}));
  if (util::WriteAll(fd_, record.data(), record.size(), path_).ok()) {
    size_ += record.size();
    (void)::fdatasync(fd_);
  }
  return error;
}

Status JournalWriter::Flush(bool sync) {
  std::lock_guard io(io_mu_);
  if (fd_ < 0) return Status::FailedPrecondition("journal is closed");
  RUNTRACK_RETURN_IF_ERROR(WritePending());
  if (sync && !failed_ && ::fdatasync(fd_) != 0) return FailWith("fdatasync journal", errno);
  return background_error();
}

Status JournalWriter::Close() {
  Status s = Flush(/*sync=*/true);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (flusher_.joinable()) flusher_.join();
  std::lock_guard io(io_mu_);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return s;
}

Status JournalWriter::background_error() const {
  std::lock_guard lock(mu_);
  return first_error_;
}

}  // namespace runtrack::journal
