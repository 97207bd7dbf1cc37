#include "service/run_service.h"

#include <set>

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<runtrack::RunPage> RunService::List(const runtrack::RunQuery& query) const { return catalog_.ListRuns(query); }

Result<runtrack::RunPage> RunService::ListPage(const ExperimentPageQuery& page) const {
  runtrack::RunQuery q = page.query;
  q.offset = static_cast<uint64_t>(page.page - 1) * static_cast<uint64_t>(page.per_page);
  q.limit = static_cast<uint64_t>(page.per_page);
  return catalog_.ListRuns(q);
}

Result<runtrack::RunPage> RunService::ListDeleted() const {
  runtrack::RunQuery q;
  q.deleted_only = true;
  return catalog_.ListRuns(q);
}

Result<runtrack::RunDetail> RunService::Get(const std::string& run_id) const {
  // A malformed id names no run: the same answer as an unknown one, without reaching storage.
  if (!runtrack::ValidateRunId(run_id).ok()) return Status::NotFound("Run not found");
  auto detail = catalog_.GetRun(run_id);
  if (!detail.ok() && detail.status().code() == runtrack::StatusCode::kNotFound)
    return Status::NotFound("Run not found");
  return detail;
}

Result<uint64_t> RunService::CountFiles(const std::string& run_id) const {
  if (!runtrack::ValidateRunId(run_id).ok()) return Status::NotFound("Run not found");
  return catalog_.CountRunFiles(run_id);
}

Result<std::string> RunService::ReadLog(const std::string& run_id, uint64_t offset) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  return catalog_.ReadLog(run_id, offset);
}

template <typename Op>
Result<BatchOutcome> RunService::ApplyEach(const std::vector<std::string>& run_ids, size_t max, Op op) {
  if (run_ids.size() > max)
    return Status::InvalidArgument(fmt::format("Cannot delete more than {} runs at once", max));
  for (const auto& id : run_ids) RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(id));
  BatchOutcome out;
  for (const auto& id : run_ids) {
    Status s = op(id);
    // kBusy refuses the whole catalog (read-only on a full disk), not this run: answer it (503).
    if (s.code() == runtrack::StatusCode::kBusy) return s;
    if (s.ok()) ++out.succeeded;
    out.results.emplace_back(id, std::move(s));
  }
  return out;
}

Result<BatchOutcome> RunService::SoftDelete(const std::vector<std::string>& run_ids, size_t max) {
  return ApplyEach(run_ids, max, [&](const std::string& id) { return catalog_.SoftDelete(id); });
}

Result<BatchOutcome> RunService::Restore(const std::vector<std::string>& run_ids) {
  return ApplyEach(run_ids, kMaxBatch, [&](const std::string& id) { return catalog_.Restore(id); });
}

Result<BatchOutcome> RunService::PermanentDelete(const std::vector<std::string>& run_ids) {
  return ApplyEach(run_ids, kMaxBatch, [&](const std::string& id) { return catalog_.PermanentDelete(id); });
}

Result<PurgeOutcome> RunService::EmptyRecycleBin() {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, ListDeleted());
  PurgeOutcome out;
  for (const auto& r : page.runs) {
    Status s = catalog_.PermanentDelete(r.id);
    if (s.code() == runtrack::StatusCode::kBusy) return s;  // the catalog is read-only: 503
    if (s.ok()) ++out.deleted;
    else out.failed.emplace_back(r.id, s.message());  // e.g. a run still writing: never removed under its writer
  }
  return out;
}

Result<std::vector<std::string>> RunService::Projects() const {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, catalog_.ListRuns(runtrack::RunQuery{}));
  std::set<std::string> projects;
  for (const auto& r : page.runs) projects.insert(r.project);
  return std::vector<std::string>(projects.begin(), projects.end());
}

Result<std::vector<std::string>> RunService::Names(const std::string& project) const {
  runtrack::RunQuery q;
  q.project = project;
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, catalog_.ListRuns(q));
  std::set<std::string> names;
  for (const auto& r : page.runs) names.insert(r.name);
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace runicorn::service
