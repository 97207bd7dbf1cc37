// JournalWriter: an in-memory record buffer plus the background thread that appends it to a
// journal file.
//
// Appends only touch memory (under one mutex); the flusher thread frames and checksums records
// and writes them with one write(2) per flush, so the caller never pays for I/O or CRCs.
//
// I/O failure (a full disk, EIO): the first failed write or sync ends the journal. The writer cuts
// off any partly written record, appends a final Status record {status: "failed", exit_reason:
// "io_error: <strerror>"} and fdatasyncs it; every later write is dropped and every Flush/Close
// returns the first error. So a run whose disk filled up is reported as an I/O failure, not as a
// crash. Room for that record is kept allocated past the end of the file (fallocate with
// FALLOC_FL_KEEP_SIZE, kStatusReserveBytes beyond every write), so a full disk cannot take it;
// on a file system without fallocate the record is written on a best-effort basis.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "journal/journal_format.h"
#include "runtrack/status.h"

namespace runtrack::journal {

// Records waiting to be written. Consecutive points share one kPoints record.
class PendingRecords {
 public:
  void Add(RecordType type, std::string payload);
  void AddPoint(const PackedPoint& point);
  size_t bytes() const { return bytes_; }
  bool empty() const { return records_.empty(); }
  // Frames every record into `out` and clears the buffer.
  void FrameInto(std::string* out);

 private:
  struct Record {
    RecordType type;
    std::string payload;
  };
  static constexpr size_t kMaxPointsRecordBytes = 1u << 20;
  std::vector<Record> records_;
  size_t bytes_ = 0;
};

class JournalWriter {
 public:
  struct Policy {
    std::chrono::milliseconds interval{200};
    size_t bytes = 1u << 20;
  };

  // Creates the journal (it must not exist) and writes its header; starts the flusher.
  static Result<std::unique_ptr<JournalWriter>> Create(const std::filesystem::path& path, Policy policy);
  ~JournalWriter();  // stops the flusher after writing what is pending; does not fsync

  // Runs `fill(PendingRecords&)` under the buffer mutex. `fill` must not block.
  template <typename Fill>
  void Append(Fill&& fill) {
    std::lock_guard lock(mu_);
    fill(pending_);
    if (pending_.bytes() >= policy_.bytes && !wake_) {
      wake_ = true;
      cv_.notify_one();
    }
  }

  // Writes everything appended so far; with `sync`, also fdatasyncs the file.
  Status Flush(bool sync);
  // Flushes, fsyncs, stops the flusher. Later appends are dropped.
  Status Close();
  Status background_error() const;

 private:
  JournalWriter(int fd, std::filesystem::path path, Policy policy, uint64_t size, bool reserve_supported);
  void FlusherLoop();
  Status WritePending();  // requires io_mu_

  // Ends the journal after an I/O error (see the file comment). Requires io_mu_.
  Status FailWith(std::string_view op, int err);

  // Space kept allocated past the end of the journal for the final record of an I/O failure.
  static constexpr uint64_t kStatusReserveBytes = 4096;

  int fd_;
  std::filesystem::path path_;
  Policy policy_;

  std::mutex io_mu_;  // orders writes to fd_; taken before mu_
  // Guarded by io_mu_.
  uint64_t size_ = 0;              // bytes of whole records (and header) in the file
  bool reserve_supported_ = true;  // false once fallocate said the file system cannot
  bool failed_ = false;            // an I/O error ended the journal

  mutable std::mutex mu_;
  std::condition_variable cv_;
  PendingRecords pending_;
  bool wake_ = false;
  bool stopping_ = false;
  Status first_error_;
  std::thread flusher_;
};

}  // namespace runtrack::journal
