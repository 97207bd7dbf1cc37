// Use cases on runs: listing (v1, v2, recycle bin, project hierarchy), detail, soft delete,
// restore, permanent delete. Every id from outside is validated here, once, before anything
// reaches storage; batch operations validate every id before changing anything.
//
// Thread safety: const methods may run concurrently; mutating ones too (the catalog serialises).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtrack/catalog.h"
#include "service/storage.h"

namespace runicorn::service {

// The outcome of applying one operation to several runs: per id, ok or why not.
struct BatchOutcome {
  int succeeded = 0;
  std::vector<std::pair<std::string, runtrack::Status>> results;  // in request order
};

struct PurgeOutcome {
  int deleted = 0;
  std::vector<std::pair<std::string, std::string>> failed;  // run id -> reason (e.g. still running)
};

// GET /api/v2/experiments: filters, sort, one page.
struct ExperimentPageQuery {
  runtrack::RunQuery query;  // filters and sort; offset/limit are set from page/per_page
  int64_t page = 1;
  int64_t per_page = 50;
};

class RunService {
 public:
  explicit RunService(RunCatalog& catalog) : catalog_(catalog) {}

  // Runicorn caps v1 batch operations at 100 ids, v2 batch delete at 1000.
  static constexpr size_t kMaxBatch = 100;
  static constexpr size_t kMaxBatchV2 = 1000;

  runtrack::Result<runtrack::RunPage> List(const runtrack::RunQuery& query) const;
  // One page of experiments; contradictory ranges are InvalidArgument.
  runtrack::Result<runtrack::RunPage> ListPage(const ExperimentPageQuery& page) const;
  runtrack::Result<runtrack::RunPage> ListDeleted() const;
  // NotFound "Run not found" for an id that names no run, malformed or not (a malformed id is
  // rejected before any storage access).
  runtrack::Result<runtrack::RunDetail> Get(const std::string& run_id) const;
  // Files in the run's folder (v2's file_count).
  runtrack::Result<uint64_t> CountFiles(const std::string& run_id) const;
  // The text log from byte `offset` on.
  runtrack::Result<std::string> ReadLog(const std::string& run_id, uint64_t offset) const;

  // InvalidArgument (and nothing changes) if any id is malformed or there are more than `max`.
  runtrack::Result<BatchOutcome> SoftDelete(const std::vector<std::string>& run_ids, size_t max = kMaxBatch);
  runtrack::Result<BatchOutcome> Restore(const std::vector<std::string>& run_ids);
  runtrack::Result<BatchOutcome> PermanentDelete(const std::vector<std::string>& run_ids);
  // Permanently deletes every soft-deleted run that is not still running.
  runtrack::Result<PurgeOutcome> EmptyRecycleBin();

  // Distinct project names, and run names within a project, sorted.
  runtrack::Result<std::vector<std::string>> Projects() const;
  runtrack::Result<std::vector<std::string>> Names(const std::string& project) const;

 private:
  template <typename Op>
  runtrack::Result<BatchOutcome> ApplyEach(const std::vector<std::string>& run_ids, size_t max, Op op);

  RunCatalog& catalog_;
};

}  // namespace runicorn::service
