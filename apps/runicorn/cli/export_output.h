// Where `runicorn export` writes: stdout, or --output FILE. A file is written as FILE.partial and
// renamed once the export is complete, so a failed export never leaves a truncated file under the
// name asked for. The file is opened at the first write: an export that fails before producing a
// byte (unknown run) creates nothing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::cli {

class ExportOutput {
 public:
  explicit ExportOutput(std::optional<std::string> path) : path_(std::move(path)) {}
  // Removes the partial file unless Commit() succeeded.
  ~ExportOutput();
  ExportOutput(const ExportOutput&) = delete;
  ExportOutput& operator=(const ExportOutput&) = delete;

  // IOError "cannot write FILE" when the file cannot be created or written.
  runtrack::Status Write(std::string_view piece);
  // Closes and renames the file into place (stdout: flushes). IOError "cannot write FILE".
  runtrack::Status Commit();
  uint64_t bytes() const { return bytes_; }
  // A Write or Commit failed (as opposed to the export itself).
  bool failed() const { return failed_; }

 private:
  runtrack::Status CannotWrite();

  std::optional<std::string> path_;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
  bool failed_ = false;
  uint64_t bytes_ = 0;
};

}  // namespace runicorn::cli
