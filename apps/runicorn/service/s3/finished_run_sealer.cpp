#include "service/s3/finished_run_sealer.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "runtrack/layout.h"
#include "runtrack/remote.h"

namespace runicorn::service::s3 {
using runtrack::Result;
using runtrack::Status;

FinishedRunSealer::FinishedRunSealer(std::filesystem::path root, CatalogFn catalog,
                                     std::shared_ptr<SegmentIndex> index, PublishFn publish,
                                     FinishedRunSealerOptions options)
    : root_(std::move(root)),
      catalog_(std::move(catalog)),
      index_(std::move(index)),
      publish_(std::move(publish)),
      options_(options),
      thread_(options.background ? std::thread([this] { Loop(); }) : std::thread()) {}

FinishedRunSealer::~FinishedRunSealer() { Stop(); }

void FinishedRunSealer::Stop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

size_t FinishedRunSealer::pending() const {
  std::lock_guard l(mu_);
  return pending_.size();
}

void FinishedRunSealer::Appended(std::string_view run_id) { Note(run_id); }

void FinishedRunSealer::Note(std::string_view run_id) const {
  {
    std::lock_guard l(mu_);
    if (stop_) return;
    pending_.insert_or_assign(std::string(run_id), std::chrono::steady_clock::now() + options_.give_up);
  }
  cv_.notify_all();
}

Result<FinishedRunSealer::Local> FinishedRunSealer::LocalState(
    std::string_view run_id, std::string_view stream, const std::vector<runtrack::SealedObjectRef>* sealed) const {
  std::shared_ptr<runtrack::Catalog> catalog = catalog_();
  if (!catalog) return Status::IOError("the catalog is not open");
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunDetail detail, catalog->GetRun(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<runtrack::RunStreamInfo> streams, catalog->ListStreams(run_id));
  std::vector<runtrack::SealedObjectRef> listed;
  if (sealed == nullptr) {
    RUNTRACK_ASSIGN_OR_RETURN(listed, catalog->ListSealedObjects());
    sealed = &listed;
  }
  Local out;
  out.running = detail.run.status == runtrack::RunStatus::kRunning;
  uint64_t points = 0;
  bool ended = false;
  for (const runtrack::RunStreamInfo& s : streams) {
    points += s.points;
    if (s.stream == stream) ended = s.ended;
  }
  // A run judged dead after its lease may still get its writer back: not final.
  out.final = !out.running && ended && detail.run.exit_reason != "process_not_found";
  uint64_t in_segments = 0;
  for (const runtrack::SealedObjectRef& ref : *sealed)
    if (ref.run_id == run_id) {
      in_segments += ref.point_count;
      out.refs.push_back(ref);
    }
  std::sort(out.refs.begin(), out.refs.end(),
            [](const runtrack::SealedObjectRef& a, const runtrack::SealedObjectRef& b) { return a.series < b.series; });
  // A sealed series never counts more points than the catalog holds of it, so equal sums mean every
  // series is sealed at its current length (a run that grew after its sealing is not).
  out.points_sealed = !out.running && in_segments == points;
  return out;
}

Result<bool> FinishedRunSealer::Indexed(std::string_view run_id, const Local& local) const {
  auto row = index_->ReadRun(run_id);
  if (!row.ok()) {
    if (row.status().code() == runtrack::StatusCode::kNotFound) return false;  // its `runs` row not mirrored yet
    return row.status();
  }
  if (row->status == runtrack::RunStatus::kRunning || row->series.size() != local.refs.size()) return false;
  for (size_t i = 0; i < local.refs.size(); ++i)
    if (!(row->series[i].info.ref == local.refs[i])) return false;
  return true;
}

Result<RunSealState> FinishedRunSealer::State(std::string_view run_id, std::string_view stream) const {
  RUNTRACK_ASSIGN_OR_RETURN(Local local, LocalState(run_id, stream));
  RunSealState state;
  state.final = local.final;
  if (local.points_sealed) {
    RUNTRACK_ASSIGN_OR_RETURN(state.sealed, Indexed(run_id, local));
  }
  if (!local.running && !state.sealed) Note(run_id);
  return state;
}

void FinishedRunSealer::Loop() {
  std::unique_lock l(mu_);
  while (!stop_) {
    if (pending_.empty()) {
      cv_.wait(l, [&] { return stop_ || !pending_.empty(); });
      continue;
    }
    cv_.wait_for(l, options_.period, [&] { return stop_; });
    if (stop_) break;
    l.unlock();
    Status failed = Pass();
    l.lock();
    if (!failed.ok() && failed.message() != last_error_) {
      last_error_ = failed.message();
      std::fprintf(stderr, "runicorn viewer: sealing finished runs: %s (retried)\n", last_error_.c_str());
    }
  }
}

Status FinishedRunSealer::Pass() {
  std::lock_guard pass(pass_mu_);
  const runtrack::StoreLayout layout(root_);
  std::vector<std::string> runs;
  {
    std::lock_guard l(mu_);
    for (const auto& [id, until] : pending_) runs.push_back(id);
  }
  if (runs.empty()) return Status::Ok();

  std::vector<std::string> done;
  bool seal = false, publish = false;
  Status failed;
  std::shared_ptr<runtrack::Catalog> catalog = catalog_();
  auto sealed = catalog ? catalog->ListSealedObjects() : Result<std::vector<runtrack::SealedObjectRef>>(
                                                             Status::IOError("the catalog is not open"));
  for (const std::string& id : runs) {
    if (!sealed.ok()) break;
    auto local = LocalState(id, runtrack::kDefaultJournalStream, &*sealed);
    if (!local.ok() || local->running) continue;  // not indexed yet, or not ended: looked at again
    if (!local->points_sealed) {
      // The catalog seals nothing while the receiver lingers on the run (a late rank may join).
      std::error_code ec;
      if (!std::filesystem::exists(layout.receiving_marker(id), ec)) seal = true;
      continue;
    }
    auto indexed = Indexed(id, *local);
    if (indexed.ok() && *indexed) done.push_back(id);
    else publish = true;
    if (!indexed.ok()) failed = indexed.status();
  }
  if (seal && catalog) {
    auto report = catalog->SealFinishedRuns();
    if (!report.ok()) failed = report.status();
    else if (report->runs_failed > 0) failed = Status::IOError(report->last_error);
    publish = true;
  }
  if (publish)
    if (Status s = publish_(); !s.ok()) failed = s;
  catalog.reset();

  std::lock_guard l(mu_);
  for (const std::string& id : done) pending_.erase(id);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) it = now >= it->second ? pending_.erase(it) : std::next(it);
  return failed;
}

}  // namespace runicorn::service::s3
