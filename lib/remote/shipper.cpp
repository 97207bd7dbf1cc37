// ShipRun and the JournalShipper thread: loops over ShipStep (ship_step.h).
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "remote/artifact_shipper.h"
#include "remote/ingest_client.h"
#include "remote/ship_step.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "util/files.h"

namespace runtrack {
using namespace std::chrono_literals;

ShipperOptions ShipperOptionsFromEnv(ShipperOptions base) {
  if (const char* s = std::getenv("RUNICORN_SERVER"); s != nullptr && *s != '\0' && base.server.empty()) base.server = s;
  if (const char* t = std::getenv("RUNICORN_TOKEN"); t != nullptr && *t != '\0' && base.token.empty()) base.token = t;
  return base;
}

Result<ShipProgress> ShipRun(const StoreLayout& layout, std::string_view run_id, const ShipperOptions& options,
                             int max_attempts) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (options.server.empty()) return Status::InvalidArgument("no server to ship to (set RUNICORN_SERVER or --server)");
  remote::IngestClient client(options);
  size_t batch = options.batch_bytes;
  ShipProgress progress;
  int failures = 0;
  for (;;) {
    remote::StepOutcome step = remote::ShipStep(layout, run_id, client, &batch, &progress);
    switch (step.kind) {
      case remote::StepOutcome::kCaughtUp: return progress;
      case remote::StepOutcome::kProgress: failures = 0; continue;
      case remote::StepOutcome::kFatal: return step.error;
      case remote::StepOutcome::kRetry:
        if (max_attempts > 0 && ++failures >= max_attempts)
          return Status::IOError(fmt::format("run {}: gave up after {} failed attempts: {}", run_id, failures,
                                             step.error.message()));
        std::this_thread::sleep_for(remote::Backoff(options, failures, step.retry_after));
        continue;
    }
  }
}

namespace {

// The shipper thread sits beside a training loop: it must use CPU the loop leaves idle, not take
// it. SCHED_BATCH: its wake-ups never preempt a running thread. Nice 10 (weight 110 against
// 1024): on a contended core it gets ~10% while the training thread runs; not 19, which would
// starve it behind a node's data-loader workers and let the journal lag without bound. Only this
// thread (Linux: setpriority on a thread id); failure only costs the benefit, so it is ignored.
void LowerShipperThreadPriority() {
  sched_param none{};
  (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
}

}  // namespace

struct JournalShipper::Impl {
  Impl(StoreLayout l, ShipperOptions o) : layout(std::move(l)), options(std::move(o)) {}
  StoreLayout layout;
  ShipperOptions options;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  std::condition_variable wake_cv;   // the thread waits here
  std::condition_variable done_cv;   // Drain() waits here
  bool wake = false;
  struct Tracked {
    uint64_t acknowledged = 0;
    uint64_t local = 0;
    Status fatal;  // set: shipping this run stopped (reported once on stderr)
    bool leftover = false;  // adopted from an earlier process: untracked once caught up
    std::chrono::steady_clock::time_point last_put = std::chrono::steady_clock::now();
    // Artifact versions the run logged or used (artifact_transfer.h): the round that last looked
    // at them, and whether it found them all on the server (or gave up: reported on stderr).
    uint64_t artifacts_round = 0;
    bool artifacts_current = false;
    Status artifact_fatal;
  };
  std::map<std::string, Tracked, std::less<>> runs;
  uint64_t round = 0;  // rounds of Loop() started (under mu), so Drain can ask for a later one
  std::thread thread;

  // Runs an earlier process on this node meant to ship (they have a `shipped` file) but left
  // unacknowledged: a crash, or a Finish() that timed out. Runs whose writer is alive (lock held)
  // are left to it.
  void AdoptLeftovers() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(layout.runs_dir(), ec)) {
      std::string id = e.path().filename().string();
      if (!ValidateRunId(id).ok() || !std::filesystem::exists(layout.shipped_path(id), ec)) continue;
      auto acked = ReadShippedOffset(layout, id);
      std::error_code size_ec;
      uint64_t size = std::filesystem::file_size(layout.journal_path(id), size_ec);
      if (!acked.ok() || size_ec || *acked >= size) continue;
      util::FileLock probe;
      auto free = util::FileLock::TryAcquire(layout.lock_path(id), &probe);
      if (!free.ok() || !*free) continue;
      std::lock_guard g(mu);
      auto [it, inserted] = runs.try_emplace(id);
      if (inserted) it->second.leftover = true;
    }
  }

  // After the run's journal round: its artifact versions the server lacks, one version per step,
  // on this thread (never in Log()). A refused version stops artifact shipping for the run only.
  void ShipArtifacts(const std::string& id, uint64_t this_round, remote::ArtifactClient& client, size_t* part,
                     std::chrono::milliseconds* wait, int* failures) {
    ArtifactShipProgress p;
    remote::StepOutcome step;
    for (int i = 0; i < 64 && !stopping; ++i) {
      step = remote::ArtifactStep(layout, id, client, part, &p);
      if (step.kind != remote::StepOutcome::kProgress) break;
    }
    if (step.kind == remote::StepOutcome::kRetry) *wait = remote::Backoff(options, (*failures)++, step.retry_after);
    {
      std::lock_guard g(mu);
      auto it = runs.find(id);
      if (it == runs.end()) return;
      it->second.artifacts_round = this_round;
      it->second.artifacts_current = step.kind == remote::StepOutcome::kCaughtUp ||
                                     step.kind == remote::StepOutcome::kFatal;
      if (step.kind == remote::StepOutcome::kFatal && it->second.artifact_fatal.ok()) {
        it->second.artifact_fatal = step.error;
        std::fprintf(stderr, "runtrack: shipping the artifacts of run %s stopped: %s\n", id.c_str(),
                     step.error.ToString().c_str());
      }
    }
    done_cv.notify_all();
  }

  void Loop() {
    LowerShipperThreadPriority();
    AdoptLeftovers();
    remote::IngestClient client(options, &stopping);
    remote::ArtifactClient artifact_client(options, &stopping);
    size_t part = options.batch_bytes;
    size_t batch = options.batch_bytes;
    int failures = 0;
    std::unique_lock l(mu);
    while (!stopping) {
      const uint64_t this_round = ++round;
      std::vector<std::string> ids;
      std::vector<std::string> idle;  // live runs due a heartbeat (ShipperOptions::heartbeat)
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [id, t] : runs) {
        if (!t.fatal.ok()) continue;
        ids.push_back(id);
        if (!t.leftover && now - t.last_put >= options.heartbeat) idle.push_back(id);
      }
      l.unlock();
      for (const std::string& id : idle) {
        ShipProgress p;
        remote::StepOutcome step = remote::ProbeStep(layout, id, client, &p);
        std::lock_guard g(mu);
        if (auto it = runs.find(id); it != runs.end() && step.kind == remote::StepOutcome::kCaughtUp)
          it->second.last_put = std::chrono::steady_clock::now();
      }
      std::chrono::milliseconds wait = options.interval;
      for (const std::string& id : ids) {
        ShipProgress p;
        // A bounded number of batches per run per round, so one busy run cannot starve the rest.
        for (int i = 0; i < 64 && !stopping; ++i) {
          remote::StepOutcome step = remote::ShipStep(layout, id, client, &batch, &p);
          {
            std::lock_guard g(mu);
            auto it = runs.find(id);
            if (it != runs.end()) {
              it->second.acknowledged = p.acknowledged;
              it->second.local = p.local;
              if (p.requests > 0) it->second.last_put = std::chrono::steady_clock::now();
              if (step.kind == remote::StepOutcome::kCaughtUp && it->second.leftover && it->second.artifacts_current)
                runs.erase(it);
              else if (step.kind == remote::StepOutcome::kFatal) {
                it->second.fatal = step.error;
                std::fprintf(stderr, "runtrack: shipping run %s stopped: %s\n", id.c_str(), step.error.ToString().c_str());
              }
            }
          }
          done_cv.notify_all();
          if (step.kind == remote::StepOutcome::kProgress) {
            failures = 0;
            continue;
          }
          if (step.kind == remote::StepOutcome::kRetry) {
            wait = remote::Backoff(options, failures++, step.retry_after);
          }
          break;
        }
        bool artifacts_stopped = true;
        {
          std::lock_guard g(mu);
          auto it = runs.find(id);
          artifacts_stopped = it == runs.end() || !it->second.artifact_fatal.ok();
        }
        if (failures == 0 && !artifacts_stopped && !stopping) ShipArtifacts(id, this_round, artifact_client, &part, &wait, &failures);
        if (failures > 0) break;  // the server is unreachable or busy: back off for all runs
      }
      l.lock();
      wake_cv.wait_for(l, wait, [&] { return wake || stopping.load(); });
      wake = false;
    }
  }
};

JournalShipper::JournalShipper(StoreLayout layout, ShipperOptions options)
    : impl_(std::make_unique<Impl>(std::move(layout), std::move(options))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

JournalShipper::~JournalShipper() {
  {
    std::lock_guard l(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake_cv.notify_all();
  impl_->thread.join();
}

Status JournalShipper::Track(std::string_view run_id, std::string_view stream) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(ValidateJournalStream(stream));
  if (stream != kDefaultJournalStream)  // before `shipped`: no shipper may send it as stream "0"
    RUNTRACK_RETURN_IF_ERROR(
        util::WriteFileAtomic(impl_->layout.shipping_stream_path(run_id), std::string(stream), /*sync=*/true));
  struct stat st {};
  if (::stat(impl_->layout.shipped_path(run_id).c_str(), &st) != 0)
    RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(impl_->layout.shipped_path(run_id), "0", /*sync=*/false));
  {
    std::lock_guard l(impl_->mu);
    impl_->runs.try_emplace(std::string(run_id)).first->second.leftover = false;
    impl_->wake = true;
  }
  impl_->wake_cv.notify_all();
  return Status::Ok();
}

Status JournalShipper::Drain(std::string_view run_id, std::chrono::milliseconds timeout) {
  // The caller has closed the journal: its size now is its final size, all whole records.
  std::error_code ec;
  const uint64_t final_size = std::filesystem::file_size(impl_->layout.journal_path(run_id), ec);
  if (ec) return Status::IOError(fmt::format("stat journal of run {}: {}", run_id, ec.message()));
  std::unique_lock l(impl_->mu);
  impl_->wake = true;
  impl_->wake_cv.notify_all();
  if (impl_->runs.find(run_id) == impl_->runs.end())
    return Status::NotFound(fmt::format("run {} is not being shipped", run_id));
  // Only Drain erases a run that Track() added (leftover = false), so the entry stays while we wait.
  auto& tracked = impl_->runs.find(run_id)->second;
  // Artifacts logged before Finish() count too: a round that started after this call must have
  // found them all on the server.
  const uint64_t round_now = impl_->round;
  bool done = impl_->done_cv.wait_for(l, timeout, [&] {
    return (tracked.acknowledged >= final_size && tracked.artifacts_round > round_now && tracked.artifacts_current) ||
           !tracked.fatal.ok();
  });
  Status result = !tracked.fatal.ok() ? tracked.fatal
                  : done ? Status::Ok()
                         : Status::FailedPrecondition(fmt::format(
                               "run {}: the server acknowledged {} of {} journal bytes before the timeout; the "
                               "rest is shipped later (runicorn sync)", run_id, tracked.acknowledged, final_size));
  if (done) impl_->runs.erase(std::string(run_id));
  return result;
}

}  // namespace runtrack
