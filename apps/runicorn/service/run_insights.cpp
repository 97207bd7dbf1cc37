#include "service/run_insights.h"

#include <algorithm>
#include <chrono>
#include <iterator>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/json_codec.h"
#include "runtrack/json_parse.h"
#include "runtrack/validation.h"

namespace runicorn::service {
namespace bj = boost::json;
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

uint64_t TreeBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  // Symbolic links are not followed: the store's size is what it holds itself.
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec) && !it->is_symlink(size_ec)) {
      uintmax_t n = it->file_size(size_ec);
      if (!size_ec) total += n;
    }
  }
  return total;
}

}  // namespace

Result<runtrack::RunDetail> RunInsights::GetRun(const std::string& run_id) const {
  // As RunService::Get: a malformed id names no run, and never reaches storage.
  if (!runtrack::ValidateRunId(run_id).ok()) return Status::NotFound("Run not found");
  auto detail = runs_.GetRun(run_id);
  if (!detail.ok() && detail.status().code() == runtrack::StatusCode::kNotFound) return Status::NotFound("Run not found");
  return detail;
}

Result<RunArtifacts> RunInsights::Artifacts(const std::string& run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, GetRun(run_id));
  RunArtifacts out;
  auto collect = [this](const std::vector<runtrack::ArtifactRef>& refs,
                        std::vector<runtrack::ArtifactVersionInfo>* into) -> Status {
    for (const auto& ref : refs) {
      auto info = artifacts_.Version(VersionRef{ref.name, ref.version, std::nullopt});
      if (info.ok()) {
        into->push_back(std::move(*info));
      } else if (info.status().code() != runtrack::StatusCode::kNotFound) {
        return info.status();
      }
    }
    return Status::Ok();
  };
  RUNTRACK_RETURN_IF_ERROR(collect(detail.artifacts_created, &out.created));
  RUNTRACK_RETURN_IF_ERROR(collect(detail.artifacts_used, &out.used));
  return out;
}

Result<std::optional<TrainingRun>> RunInsights::TrainingMetrics(const std::string& name, std::optional<int> version,
                                                                std::optional<runtrack::ArtifactType> type) const {
  runtrack::ArtifactVersionInfo info;
  if (version) {
    RUNTRACK_ASSIGN_OR_RETURN(info, artifacts_.Version(VersionRef{name, *version, type}));
  } else {
    RUNTRACK_ASSIGN_OR_RETURN(auto versions, artifacts_.Versions(name, type, false));
    if (versions.empty()) return Status::NotFound(fmt::format("Artifact not found: {}", name));
    info = versions.back();
    for (const auto& v : versions)
      if (v.version > info.version) info = v;
  }
  if (runtrack::ValidateRunId(info.created_by_run).ok()) {
    auto run = runs_.GetRun(info.created_by_run);
    if (run.ok()) return std::optional<TrainingRun>(TrainingRun{std::move(*run), info.created_at});
    if (run.status().code() != runtrack::StatusCode::kNotFound) return run.status();
  }
  return std::optional<TrainingRun>();
}

Result<std::vector<VersionPerformance>> RunInsights::PerformanceHistory(
    const std::string& name, std::optional<runtrack::ArtifactType> type) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto versions, artifacts_.Versions(name, type, false));
  std::sort(versions.begin(), versions.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  std::vector<VersionPerformance> out;
  for (auto& v : versions) {
    if (!runtrack::ValidateRunId(v.created_by_run).ok()) continue;
    auto run = runs_.GetRun(v.created_by_run);
    if (!run.ok()) {
      if (run.status().code() == runtrack::StatusCode::kNotFound) continue;  // run deleted since
      return run.status();
    }
    out.push_back(VersionPerformance{std::move(v), std::move(*run)});
  }
  return out;
}

Result<EnvironmentCapture> RunInsights::Environment(const std::string& run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(auto detail, GetRun(run_id));
  (void)detail;
  EnvironmentCapture out;
  // The id was validated by GetRun; the file is read without following links, from this store's
  // folder or from what the replica holding the run published.
  const std::string path = folders_.Relative(run_id, layout_.environment_path(run_id));
  auto size = folders_.Size(run_id, path);
  if (!size.ok() && size.status().code() == runtrack::StatusCode::kFailedPrecondition) return out;
  if (!size.ok()) return size.status();
  if (!*size || **size > kMaxEnvironmentBytes) return out;
  auto stream = folders_.Open(run_id, path);
  if (!stream.ok()) {
    if (stream.status().code() == runtrack::StatusCode::kNotFound) return out;  // removed since
    return stream.status();
  }
  auto text = ReadRunFileStream(**stream, kMaxEnvironmentBytes);
  if (!text.ok()) {
    // A local file that changed while read is "not captured" now, as before; the bucket's
    // answers (a damaged object) are errors.
    if (!folders_.Remote(run_id) && text.status().code() == runtrack::StatusCode::kIOError) return out;
    return text.status();
  }
  boost::system::error_code parse_ec;
  bj::value v = runtrack::ParseJson(*text, parse_ec);
  // A half-written or foreign file (or one with Python's NaN tokens, which Boost.JSON 1.81 cannot
  // read) is "not captured", not a server error.
  if (parse_ec || !v.is_object()) return out;
  out.available = true;
  out.environment = runtrack::json::Sanitized(v).as_object();
  return out;
}

Result<runtrack::RunDetail> RunInsights::Progress(const std::string& run_id) const { return GetRun(run_id); }

Result<AnalyticsOverview> RunInsights::Overview() const {
  AnalyticsOverview o;
  runtrack::RunQuery query;
  query.include_deleted = true;
  const auto start = std::chrono::steady_clock::now();
  RUNTRACK_ASSIGN_OR_RETURN(auto page, runs_.ListRuns(query));
  o.query_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (const auto& run : page.runs) {
    ++o.total_runs;
    if (run.deleted_at) {
      ++o.deleted_runs;
    } else {
      ++o.active_runs;
    }
    if (run.status == runtrack::RunStatus::kRunning) {
      ++o.running_runs;
    } else {
      ++o.ended_runs;
      if (run.status == runtrack::RunStatus::kFinished) ++o.finished_runs;
      if (run.ended_at && *run.ended_at >= run.created_at) {
        o.total_duration_seconds += *run.ended_at - run.created_at;
        ++o.timed_runs;
      }
    }
    auto detail = runs_.GetRun(run.id);
    if (detail.ok())
      for (const auto& m : detail->metrics) o.metric_points += m.count;
  }
  o.store_bytes = TreeBytes(layout_.root());
  o.catalog_bytes = TreeBytes(layout_.catalog_dir());
  return o;
}

Result<StatusCheck> RunInsights::CheckStatus(CatalogMaintenance* maintenance) const {
  if (maintenance == nullptr)
    return Status::FailedPrecondition("Status checks need the process that holds the catalog (a running viewer)");
  runtrack::RunQuery running;
  running.statuses = {runtrack::RunStatus::kRunning};
  running.include_deleted = true;
  RUNTRACK_ASSIGN_OR_RETURN(auto before, runs_.ListRuns(running));
  RUNTRACK_RETURN_IF_ERROR(maintenance->Recheck());
  StatusCheck out;
  out.checked = before.runs.size();
  for (const auto& run : before.runs) {
    auto now = runs_.GetRun(run.id);
    if (now.ok() && now->run.status != runtrack::RunStatus::kRunning) ++out.updated;
  }
  return out;
}

}  // namespace runicorn::service
