#include "server/indexer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "runtrack/layout.h"

namespace runicorn::server {
using runtrack::StatusCode;

runtrack::Status Indexer::Start() {
  if (auto catalog = ctx_.storage->current_catalog(); catalog && catalog->read_only()) {
    thread_ = std::thread([this] { Loop(true); });  // no pass can succeed yet: degrade, retry
    return runtrack::Status::Ok();
  }
  auto report = ctx_.storage->catalog().Refresh();
  if (!report.ok()) return report.status();
  if (ctx_.after_index_pass) RUNTRACK_RETURN_IF_ERROR(ctx_.after_index_pass(true));
  ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { h.state = "ok"; });
  ctx_.index_generation.fetch_add(1);
  thread_ = std::thread([this] { Loop(false); });
  return runtrack::Status::Ok();
}

void Indexer::StartInBackground() {
  thread_ = std::thread([this] { Loop(true); });
}

void Indexer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Indexer::LogOnce(const std::string& key, const std::string& message) {
  auto it = logged_.find(key);
  if (it != logged_.end() && it->second == message) return;
  logged_[key] = message;
  std::fprintf(stderr, "runicorn viewer: %s\n", message.c_str());
}

void Indexer::Degrade(const std::string& reason) {
  ctx_.storage->ingest_health().Update([&](service::IngestHealthSnapshot& h) {
    if (h.state != "degraded") h.degraded_since = NowSeconds();
    h.state = "degraded";
    h.reason = reason;
  });
}

// A catalog whose folder was deleted or replaced keeps answering from its open files but no
// longer persists anything: re-open it, which rebuilds it from the journals on the next pass.
bool Indexer::RecoverCatalog() {
  auto catalog = ctx_.storage->current_catalog();
  runtrack::Status check = catalog ? catalog->CheckFiles()
                                   : runtrack::Status::FailedPrecondition("the catalog is not open");
  catalog.reset();  // the reopen waits for every holder
  if (check.ok()) return true;
  LogOnce("catalog", "catalog lost (" + check.message() + "); re-opening it and re-indexing from the journals");
  runtrack::Status reopened = ctx_.storage->ReopenCatalog();
  if (!reopened.ok()) {
    LogOnce("catalog", "cannot re-open the catalog: " + reopened.ToString() + "; retrying");
    Degrade("catalog unavailable: " + reopened.ToString());
    return false;
  }
  logged_.erase("catalog");
  ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { ++h.catalog_reopens; });
  ctx_.index_generation.fetch_add(1);
  return true;
}

// RocksDB's own recovery from a full disk (its SstFileManager) waits until as much space as its
// write buffer (64 MiB) is free, and refuses Resume() as Busy meanwhile — on a small or nearly
// full disk, forever. Once the disk has some room again, a re-open starts over from what was
// committed (the in-memory run records are reloaded from it; the journals' unread records are
// ingested by the next pass). While there is no room, the open catalog stays in place and serves.
bool Indexer::ReopenAfterWriteError() {
  if (!HasRoomToReopen()) return false;
  runtrack::Status reopened = ctx_.storage->ReopenCatalog();
  if (!reopened.ok()) {
    LogOnce("catalog", "cannot re-open the catalog after a write error: " + reopened.ToString() + "; retrying");
    return false;
  }
  logged_.erase("catalog");
  ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { ++h.catalog_reopens; });
  ctx_.index_generation.fetch_add(1);
  return true;
}

bool Indexer::HasRoomToReopen() const {
  std::error_code ec;
  auto space = std::filesystem::space(runtrack::StoreLayout(ctx_.root).catalog_dir(), ec);
  if (ec) space = std::filesystem::space(ctx_.root, ec);  // no catalog folder yet
  return !ec && space.available >= kReopenFreeBytes;
}

void Indexer::DegradeReadOnly(const std::string& why) {
  LogOnce("read-only", "catalog read-only: " + why + "; serving what it holds, retrying read-write");
  Degrade("catalog read-only: " + why);
}

// A catalog opened read-only (the disk had no room to open it read-write: AppContext::Open)
// serves what it holds. Once the disk has room again it is re-opened read-write and this pass
// indexes what was left; until then the viewer stays degraded and retries after the backoff.
bool Indexer::LeaveReadOnly() {
  auto catalog = ctx_.storage->current_catalog();
  if (!catalog || !catalog->read_only()) return true;
  std::string why = catalog->read_only_reason();
  catalog.reset();  // the reopen waits for every holder
  if (HasRoomToReopen()) {
    runtrack::Status reopened = ctx_.storage->ReopenCatalog();
    catalog = ctx_.storage->current_catalog();
    if (reopened.ok() && catalog && !catalog->read_only()) {
      logged_.erase("read-only");
      ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { ++h.catalog_reopens; });
      ctx_.index_generation.fetch_add(1);
      write_error_ = false;
      return true;
    }
    if (catalog && catalog->read_only()) why = catalog->read_only_reason();  // still no room
    else if (!reopened.ok()) why += "; re-opening read-write failed: " + reopened.ToString();
  }
  DegradeReadOnly(why);
  return false;
}

bool Indexer::Pass() {
  if (!LeaveReadOnly()) return false;
  if (!RecoverCatalog()) return false;
  auto catalog = ctx_.storage->current_catalog();
  if (!catalog) return false;
  if (write_error_) {
    // RocksDB refuses writes after a failed one until resumed; this fails while the disk is full.
    if (auto s = catalog->Resume(); !s.ok()) {
      catalog.reset();
      if (!ReopenAfterWriteError()) {
        Degrade("catalog writes failing: " + s.ToString());
        return false;
      }
      catalog = ctx_.storage->current_catalog();
      if (!catalog) return false;
    }
    write_error_ = false;
  }
  if (catalog->read_only()) {  // a re-open above found no room to open it read-write
    DegradeReadOnly(catalog->read_only_reason());
    return false;
  }
  auto progress = [this](uint64_t done, uint64_t total) {
    ctx_.storage->ingest_health().Update([&](service::IngestHealthSnapshot& h) {
      h.runs_indexed = done;
      h.runs_total = total;
    });
    ctx_.index_generation.fetch_add(1);  // points of this step are queryable now
  };
  auto report = catalog->Refresh(progress);
  if (!report.ok()) {
    write_error_ = report.status().code() == StatusCode::kIOError;
    LogOnce("pass", "index pass failed: " + report.status().ToString() + "; serving what is indexed, retrying");
    ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { ++h.failed_passes; });
    Degrade("indexing failed: " + report.status().ToString());
    return false;
  }
  logged_.erase("pass");
  // Per-run failures: each logged and counted once; the run is retried every pass.
  std::map<std::string, std::string> failing;
  for (const auto& [id, why] : report->run_errors) {
    failing[id] = why;
    auto it = logged_.find("run " + id);
    if (it == logged_.end() || it->second != "run " + id + " cannot be indexed: " + why) {
      ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) { ++h.ingest_errors; });
      LogOnce("run " + id, "run " + id + " cannot be indexed: " + why);
    }
    if (why.find("IOError") != std::string::npos || why.find("IO error") != std::string::npos) write_error_ = true;
  }
  std::erase_if(logged_, [&](const auto& entry) {
    return entry.first.rfind("run ", 0) == 0 && !failing.count(entry.first.substr(4));
  });
  const bool changed =
      report->runs_discovered || report->runs_updated || report->points_ingested || report->runs_marked_crashed;
  // The run index elsewhere (--catalog) is brought up to this pass before streams are woken; while
  // it fails the local store still indexes every pass (backed off), and the mirror catches up.
  if (ctx_.after_index_pass) {
    if (auto s = ctx_.after_index_pass(changed); !s.ok()) {
      LogOnce("mirror", "run index mirror failed: " + s.ToString() + "; serving what is indexed, retrying");
      Degrade("run index mirror failed: " + s.ToString());
      if (changed) ctx_.index_generation.fetch_add(1);
      return false;
    }
    logged_.erase("mirror");
  }
  if (changed) ctx_.index_generation.fetch_add(1);
  if (!failing.empty()) {
    Degrade(std::to_string(failing.size()) + " run(s) cannot be indexed; last: " + report->last_error);
    return !write_error_;  // only a write error (e.g. a full disk) slows the others down
  }
  ctx_.storage->ingest_health().Update([](service::IngestHealthSnapshot& h) {
    h.state = "ok";
    h.reason.clear();
    h.degraded_since = 0;
    h.retry_ms = 0;
  });
  return true;
}

void Indexer::Loop(bool first_pass_pending) {
  std::unique_lock lock(mu_);
  auto delay = first_pass_pending ? std::chrono::milliseconds(0) : interval_;
  while (!stop_) {
    if (delay.count() > 0 && cv_.wait_for(lock, delay, [this] { return stop_; })) break;
    lock.unlock();
    const bool ok = Pass();
    lock.lock();
    if (ok) {
      failures_in_a_row_ = 0;
      delay = interval_;
      continue;
    }
    // Back off: a full disk or a broken catalog is not fixed by hammering it.
    failures_in_a_row_ = std::min(failures_in_a_row_ + 1, 16);
    delay = std::min<std::chrono::milliseconds>(interval_ * (1 << std::min(failures_in_a_row_, 10)), max_backoff_);
    ctx_.storage->ingest_health().Update([&](service::IngestHealthSnapshot& h) {
      h.retry_ms = static_cast<uint64_t>(delay.count());
    });
  }
}

}  // namespace runicorn::server
