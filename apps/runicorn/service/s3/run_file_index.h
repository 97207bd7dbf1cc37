// The shared index of published run logs and run files (docs/SCALE-OUT.md "Run logs and run files
// in the bucket"): for each finished run the replica that held it published, the log's object, the
// run folder's file count, and one row per file. Written by RunFilePublisher, read by
// ObjectRunFiles; implemented over PostgreSQL (migration 7) by pg::PgRunFiles.
//
// Thread safety: implementations allow every method from any number of threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/run.h"
#include "runtrack/status.h"

namespace runicorn::service::s3 {

struct RunFileRow {
  std::string path;        // relative to the run folder (ValidateRunFilePath)
  std::string object_key;  // as PUT; readers derive it again and refuse a row that differs
  uint64_t size = 0;
  std::string sha256;      // 64 lower-case hex digits
  bool operator==(const RunFileRow&) const = default;
};

struct RunFileSet {
  uint64_t folder_files = 0;  // RunCatalog::CountRunFiles on the publisher
  uint64_t log_size = 0;
  std::string log_key;        // "" when the log is empty (no object)
  std::string log_sha256;     // of the whole log ("" when empty)
  std::vector<RunFileRow> files;  // by path
  bool operator==(const RunFileSet&) const = default;
};

// What the index says about one run: its status in the run catalog and its published set, if any.
struct IndexedRunFiles {
  runtrack::RunStatus status = runtrack::RunStatus::kRunning;
  std::optional<RunFileSet> set;
};

class RunFileIndex {
 public:
  virtual ~RunFileIndex() = default;
  // Makes `set` the run's published set in one transaction (every path validated first:
  // InvalidArgument and nothing written). Idempotent.
  virtual runtrack::Status ReplaceRun(std::string_view run_id, const RunFileSet& set) = 0;
  // Removes the run's set and rows (none: OK).
  virtual runtrack::Status RemoveRun(std::string_view run_id) = 0;
  // NotFound when the run catalog has no such run.
  virtual runtrack::Result<IndexedRunFiles> ReadRun(std::string_view run_id) const = 0;
  // The set as published, whether or not the run catalog lists the run (nullopt: none).
  virtual runtrack::Result<std::optional<RunFileSet>> ReadSet(std::string_view run_id) const = 0;
};

}  // namespace runicorn::service::s3
