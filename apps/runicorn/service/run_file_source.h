// A finished run's text log and run-folder files as published by the replica that held it
// (docs/SCALE-OUT.md "Run logs and run files in the bucket"), for a replica whose own store does not
// hold the run. Implemented over PostgreSQL's `run_file_sets`/`run_files` and the bucket by
// s3::ObjectRunFiles; used by pg::PgViewerCatalog (ReadLog, CountRunFiles) and MediaService.
//
// Paths are relative to the run folder ("media/a.png"), '/'-separated, checked by
// ValidateRunFilePath; they name a row, never a local file on the reading replica.
//
// Thread safety: implementations allow every method from any number of threads at once. A
// RunFileStream is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

// A relative path inside a run folder: 1..1024 bytes, '/'-separated components that are not
// empty, "." or "..", no leading '/', no NUL, backslash or control character. InvalidArgument
// naming the path otherwise.
inline runtrack::Status ValidateRunFilePath(std::string_view path) {
  auto refuse = [&](std::string_view why) {
    std::string shown(path.substr(0, 200));
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return runtrack::Status::InvalidArgument("run file path \"" + shown + "\" " + std::string(why));
  };
  if (path.empty() || path.size() > 1024) return refuse("must be 1 to 1024 bytes");
  if (path.front() == '/') return refuse("is absolute");
  for (char c : path)
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) return refuse("holds a control character or '\\'");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return refuse("has an empty, \".\" or \"..\" component");
    start = end + 1;
  }
  return runtrack::Status::Ok();
}

struct PublishedRunFile {
  std::string path;  // relative to the run folder
  uint64_t size = 0;
};

// One published file's bytes, read in order with bounded memory; the content is checked against
// its SHA-256 when the last byte is read (a mismatch is Corruption, so a streamed response is
// cut rather than completed with wrong bytes).
class RunFileStream {
 public:
  virtual ~RunFileStream() = default;
  virtual uint64_t size() const = 0;
  // Up to `capacity` bytes; 0 at the end.
  virtual runtrack::Result<size_t> Read(char* out, size_t capacity) = 0;
};

class RunFileSource {
 public:
  virtual ~RunFileSource() = default;
  // The errors every method shares: NotFound when the run catalog has no such run;
  // FailedPrecondition when the run is live (status running: its owner serves it) or nothing is
  // published for it yet; Corruption when an object is missing or its bytes do not match; Busy
  // when PostgreSQL cannot be reached.
  //
  // The log from byte `offset` to its end, exactly as RunCatalog::ReadLog on the publishing replica.
  virtual runtrack::Result<std::string> ReadLog(std::string_view run_id, uint64_t offset) const = 0;
  // What RunCatalog::CountRunFiles answered on the publishing replica when it published.
  virtual runtrack::Result<uint64_t> CountRunFiles(std::string_view run_id) const = 0;
  // Every published file, by path.
  virtual runtrack::Result<std::vector<PublishedRunFile>> ListFiles(std::string_view run_id) const = 0;
  // A whole file, checked; for small files (an index). NotFound "Run file not found".
  virtual runtrack::Result<std::string> ReadFile(std::string_view run_id, std::string_view path) const = 0;
  // A file streamed by range reads. NotFound "Run file not found".
  virtual runtrack::Result<std::unique_ptr<RunFileStream>> OpenFile(std::string_view run_id,
                                                                    std::string_view path) const = 0;
  // Forgets a permanently deleted run: its rows, then its objects. Idempotent.
  virtual runtrack::Status RemoveRun(std::string_view run_id) const = 0;
};

}  // namespace runicorn::service
