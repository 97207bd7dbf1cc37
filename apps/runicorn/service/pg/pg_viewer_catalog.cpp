#include "service/pg/pg_viewer_catalog.h"

#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <libpq-fe.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

Status CheckCatalogConninfo(const std::string& conninfo) {
  const bool uri = conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
  // libpq reads an empty string or a bare word as "all defaults" / a syntax error; neither is
  // what someone typing --catalog meant. The value is never echoed: it may hold a password.
  if (!uri && conninfo.find('=') == std::string::npos)
    return Status::InvalidArgument(
        "--catalog: expected a postgresql://[USER@]HOST[:PORT]/DATABASE URL or a libpq \"key=value\" string");
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return Status::InvalidArgument("--catalog: " + why);
  }
  bool has_password = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o)
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') has_password = true;
  PQconninfoFree(options);
  if (has_password)
    return Status::InvalidArgument(
        "--catalog: the connection string contains a password, which every user of this machine can read "
        "(ps, /proc); remove it and put the password in PGPASSWORD, ~/.pgpass or the file PGPASSFILE names");
  return Status::Ok();
}

Status Unavailable(const Status& status) {
  if (status.code() != StatusCode::kIOError) return status;
  return Status::Busy(fmt::format("the run catalog (PostgreSQL) is unavailable, retry later: {}", status.message()));
}

Result<std::unique_ptr<PgViewerCatalog>> PgViewerCatalog::Open(const std::string& conninfo, RunCatalog& local) {
  RUNTRACK_RETURN_IF_ERROR(CheckCatalogConninfo(conninfo));
  RUNTRACK_ASSIGN_OR_RETURN(auto remote, PgRunCatalog::Open(conninfo));
  return std::unique_ptr<PgViewerCatalog>(new PgViewerCatalog(std::move(remote), local));
}

Result<runtrack::RunPage> PgViewerCatalog::ListRuns(const runtrack::RunQuery& query) const {
  auto page = RetryDroppedConnections([&] { return remote_->ListRuns(query); });
  if (!page.ok()) return Unavailable(page.status());
  return page;
}

Result<runtrack::RunDetail> PgViewerCatalog::GetRun(std::string_view run_id) const {
  auto indexed = RetryDroppedConnections([&] { return remote_->GetRun(run_id); });
  if (!indexed.ok()) return Unavailable(indexed.status());
  auto held = local_.GetRun(run_id);
  if (!held.ok()) {
    if (held.status().code() == StatusCode::kNotFound) return indexed;  // another replica's run
    return held.status();
  }
  // The listing row stays PostgreSQL's (what every replica lists); the rest is this store's.
  // Config and summary too: the same values, in the writer's key order (JSONB keeps no order).
  runtrack::RunDetail detail = std::move(*held);
  std::optional<std::string> path = std::move(detail.run.path);
  std::string alias = std::move(detail.run.alias);
  detail.run = std::move(indexed->run);
  if (!detail.run.path) detail.run.path = std::move(path);
  if (detail.run.alias.empty()) detail.run.alias = std::move(alias);
  return detail;
}

Status PgViewerCatalog::NotHeldHere(std::string_view run_id, std::string_view what) const {
  auto indexed = RetryDroppedConnections([&] { return remote_->GetRun(run_id); });
  if (!indexed.ok()) return Unavailable(indexed.status());
  return Status::FailedPrecondition(
      fmt::format("run {} is held by another replica; its {} is on that replica's disk", run_id, what));
}

Result<std::string> PgViewerCatalog::ReadLog(std::string_view run_id, uint64_t offset) const {
  auto log = local_.ReadLog(run_id, offset);
  if (!log.ok() && log.status().code() == StatusCode::kNotFound) {
    // Another replica's finished run: from the bucket, when it was published there.
    if (files_) {
      auto published = files_->ReadLog(run_id, offset);
      if (published.ok() || published.status().code() != StatusCode::kNotFound) return published;
    }
    return NotHeldHere(run_id, "log");
  }
  return log;
}

Result<uint64_t> PgViewerCatalog::CountRunFiles(std::string_view run_id) const {
  // The embedded count is 0 for a folder that is not there: ask the local index first.
  auto held = local_.GetRun(run_id);
  if (!held.ok()) {
    if (held.status().code() == StatusCode::kNotFound) {
      if (files_) {
        auto published = files_->CountRunFiles(run_id);
        if (published.ok() || published.status().code() != StatusCode::kNotFound) return published;
      }
      return NotHeldHere(run_id, "folder");
    }
    return held.status();
  }
  return local_.CountRunFiles(run_id);
}

Status PgViewerCatalog::Change(std::string_view run_id, Status (RunCatalog::*op)(std::string_view)) {
  Status local = (local_.*op)(run_id);
  if (local.code() == StatusCode::kNotFound) {
    RunCatalog& remote = *remote_;
    return Unavailable(RetryDroppedConnections([&] { return (remote.*op)(run_id); }));
  }
  RUNTRACK_RETURN_IF_ERROR(local);
  if (Status written = mirror_.SyncRun(run_id); !written.ok())
    return Status::Busy(fmt::format(
        "run {} was changed in this replica's store, but the run catalog (PostgreSQL) could not be updated ({}); "
        "it is updated when PostgreSQL is back",
        run_id, written.message()));
  return Status::Ok();
}

Status PgViewerCatalog::SoftDelete(std::string_view run_id) { return Change(run_id, &RunCatalog::SoftDelete); }
Status PgViewerCatalog::Restore(std::string_view run_id) { return Change(run_id, &RunCatalog::Restore); }
Status PgViewerCatalog::PermanentDelete(std::string_view run_id) {
  RUNTRACK_RETURN_IF_ERROR(Change(run_id, &RunCatalog::PermanentDelete));
  // The run is gone from the index; its published log and files go too. A failure leaves rows no
  // listed run joins (never served) and objects under the run's own prefix: reported, not undone.
  if (files_)
    if (Status removed = files_->RemoveRun(run_id); !removed.ok())
      std::fprintf(stderr, "runicorn viewer: run %s was deleted, but its published log and files could not be "
                   "removed: %s\n", std::string(run_id).c_str(), removed.message().c_str());
  return Status::Ok();
}

}  // namespace runicorn::service::pg
