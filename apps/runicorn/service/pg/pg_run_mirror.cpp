#include "service/pg/pg_run_mirror.h"

#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

// Every field of the listing row: a run whose fingerprint is unchanged needs no write. Config and
// summary are not in it: they only change with a record the indexer ingests, which moves
// updated_at.
std::string Fingerprint(const runtrack::RunSummary& r) {
  auto opt = [](const auto& v) { return v ? fmt::format("{}", *v) : std::string("-"); };
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", r.id, r.project, r.name,
                     runtrack::RunStatusName(r.status), r.exit_reason, r.created_at, r.updated_at, opt(r.ended_at),
                     opt(r.deleted_at), r.pid, r.hostname, fmt::join(r.tags, "\x1f"), r.best_metric_name,
                     r.best_metric_mode, opt(r.best_metric_value), opt(r.best_metric_step),
                     r.artifacts_created_count, r.artifacts_used_count, opt(r.path), r.alias);
}

}  // namespace

PgRunMirrorStats PgRunMirror::last_pass() const {
  std::lock_guard lock(mu_);
  return last_;
}

Status PgRunMirror::Pass(bool local_changed) {
  std::lock_guard lock(mu_);
  if (!local_changed && !pending_ && ++passes_since_compare_ < kFullCompareEvery) return Status::Ok();
  passes_since_compare_ = 0;
  Status s = CompareAndWrite();
  pending_ = !s.ok();
  return s;
}

Status PgRunMirror::CompareAndWrite() {
  last_ = {};
  runtrack::RunQuery all;
  all.include_deleted = true;
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, local_.ListRuns(all));
  std::set<std::string, std::less<>> held;
  std::vector<std::string> changed;
  for (const auto& run : page.runs) {
    held.insert(run.id);
    auto it = mirrored_.find(run.id);
    if (it == mirrored_.end() || it->second != Fingerprint(run)) changed.push_back(run.id);
  }
  std::vector<std::string> gone;
  for (const auto& [id, fingerprint] : mirrored_)
    if (!held.count(id)) gone.push_back(id);

  for (size_t begin = 0; begin < changed.size(); begin += kBatch) {
    // Detail read now, not from the listing above: config and summary come with it, and a run
    // changed since the listing is written in its newer state.
    std::vector<runtrack::RunDetail> details;
    for (size_t i = begin; i < std::min(changed.size(), begin + kBatch); ++i) {
      auto detail = local_.GetRun(changed[i]);
      if (detail.ok()) details.push_back(std::move(*detail));
      else if (detail.status().code() == runtrack::StatusCode::kNotFound) gone.push_back(changed[i]);
      else return detail.status();
    }
    std::vector<const runtrack::RunDetail*> batch;
    for (const auto& d : details) batch.push_back(&d);
    if (Status s = RetryDroppedConnections([&] { return remote_.UpsertRuns(batch); }); !s.ok()) {
      for (const auto& d : details) mirrored_[d.run.id].clear();
      return s;
    }
    for (const auto& d : details) mirrored_[d.run.id] = Fingerprint(d.run);
    last_.upserted += details.size();
  }
  if (!gone.empty()) {
    RUNTRACK_RETURN_IF_ERROR(RetryDroppedConnections([&] { return remote_.RemoveRuns(gone); }));
    for (const auto& id : gone) mirrored_.erase(id);
    last_.removed += gone.size();
  }
  return Status::Ok();
}

Status PgRunMirror::SyncRun(std::string_view id) {
  std::lock_guard lock(mu_);
  auto detail = local_.GetRun(id);
  if (!detail.ok() && detail.status().code() != runtrack::StatusCode::kNotFound) return detail.status();
  Status written = RetryDroppedConnections([&] {
    return detail.ok() ? remote_.UpsertRuns({&*detail}) : remote_.RemoveRuns({std::string(id)});
  });
  if (!written.ok()) {
    mirrored_[std::string(id)].clear();  // the next Pass() rewrites or removes it
    pending_ = true;
    return written;
  }
  if (detail.ok()) mirrored_[std::string(id)] = Fingerprint(detail->run);
  else mirrored_.erase(std::string(id));
  return Status::Ok();
}

}  // namespace runicorn::service::pg
