#include "journal/journal_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/files.h"

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

Result<std::unique_ptr<JournalWriter>> JournalWriter::Create(const std::filesystem::path& path,
                                                             Policy policy) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("create journal", path);
  std::string header = EncodeHeader();
  if (::write(fd, header.data(), header.size()) != static_cast<ssize_t>(header.size())) {
    Status s = util::ErrnoStatus("write journal header", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<JournalWriter>(new JournalWriter(fd, path, policy));
}

JournalWriter::JournalWriter(int fd, std::filesystem::path path, Policy policy)
    : fd_(fd), path_(std::move(path)), policy_(policy), flusher_([this] { FlusherLoop(); }) {}

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
  }
  // Framing (copy + CRC) happens here, outside the buffer mutex, so appenders never wait for it.
  std::string framed;
  batch.FrameInto(&framed);
  std::string_view rest = framed;
  while (!rest.empty()) {
    ssize_t n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = util::ErrnoStatus("write journal", path_);
      std::lock_guard lock(mu_);
      if (first_error_.ok()) first_error_ = s;
      return s;
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status JournalWriter::Flush(bool sync) {
  std::lock_guard io(io_mu_);
  if (fd_ < 0) return Status::FailedPrecondition("journal is closed");
  RUNTRACK_RETURN_IF_ERROR(WritePending());
  if (sync && ::fdatasync(fd_) != 0) return util::ErrnoStatus("fdatasync journal", path_);
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
