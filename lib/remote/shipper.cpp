// ShipRun and the JournalShipper thread: loops over ShipStep (ship_step.h).
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "remote/alias_sweep.h"
#include "remote/artifact_shipper.h"
#include "remote/ingest_client.h"
#include "remote/seal_confirm.h"
#include "remote/ship_step.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "util/files.h"

namespace runtrack {
using namespace std::chrono_literals;

ShipperOptions ShipperOptionsFromEnv(ShipperOptions base) {
  if (const char* s = std::getenv("RUNICORN_SERVER"); s != nullptr && *s != '\0' && base.server.empty()) base.server = s;
  if (const char* t = std::getenv("RUNICORN_TOKEN"); t != nullptr && *t != '\0' && base.token.empty()) base.token = t;
  if (const char* w = std::getenv("RUNICORN_SEAL_WAIT"); w != nullptr && *w != '\0') {
    const std::string_view text(w);
    uint32_t seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && end == text.data() + text.size() && seconds <= 24 * 3600)
      base.seal_wait = std::chrono::seconds(seconds);
    else  // a bad value must not stop training: said on stderr, the default kept
      std::fprintf(stderr, "runtrack: RUNICORN_SEAL_WAIT must be whole seconds (0 to 86400), got '%.64s'; using %lld s\n",
                   w, static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(base.seal_wait).count()));
  }
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
  // Sealed confirmation (seal_confirm.h), once the journal is acknowledged whole: bounded by
  // seal_wait, which restarts whenever bytes had to be sent again.
  auto confirm_until = std::chrono::steady_clock::now() + options.seal_wait;
  for (;;) {
    remote::StepOutcome step = remote::ShipStep(layout, run_id, client, &batch, &progress);
    if (step.kind == remote::StepOutcome::kCaughtUp) {
      if (progress.bytes_sent > 0)  // e.g. an offline run's first shipping: asked about like any other
        RUNTRACK_RETURN_IF_ERROR(remote::MarkAwaitingConfirmation(layout, run_id));
      if (!AwaitsSealConfirmation(layout, run_id)) {
        auto confirmed = ReadConfirmedOffset(layout, run_id);
        progress.confirmed = confirmed.ok() && *confirmed >= progress.acknowledged && progress.acknowledged > 0;
        return progress;
      }
      remote::ConfirmOutcome c = remote::ConfirmStep(layout, run_id, client, &progress);
      const bool waited_out = std::chrono::steady_clock::now() >= confirm_until;
      switch (c.kind) {
        case remote::ConfirmOutcome::kConfirmed: return progress;
        case remote::ConfirmOutcome::kResend:
          confirm_until = std::chrono::steady_clock::now() + options.seal_wait;
          failures = 0;
          continue;
        case remote::ConfirmOutcome::kNotFinal:
          // Bytes this call sent may not be indexed there yet; otherwise the run has not ended
          // there (its writer died): nothing to confirm.
          if (progress.bytes_sent == 0 || waited_out) return progress;
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          continue;
        case remote::ConfirmOutcome::kPending:
          if (waited_out) return progress;  // awaiting_seal: the next sync asks again
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          continue;
        case remote::ConfirmOutcome::kFatal: return c.error;
        case remote::ConfirmOutcome::kRetry:
          if (max_attempts > 0 && ++failures >= max_attempts)
            return Status::IOError(fmt::format("run {}: gave up after {} failed attempts: {}", run_id, failures,
                                               c.error.message()));
          std::this_thread::sleep_for(remote::Backoff(options, failures, c.retry_after));
          continue;
      }
    }
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

  mutable std::mutex mu;
  std::condition_variable wake_cv;   // the thread waits here
  std::condition_variable done_cv;   // Drain() waits here
  bool wake = false;
  struct Tracked {
    // The store root the journal is shipped from and the run's id in it: the Store's own layout,
    // or for a run's system-metrics stream its `system-ship` root (StoreLayout::system_ship_root).
    StoreLayout layout{std::filesystem::path()};
    std::string id;
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
    // Sealed confirmation (seal_confirm.h), asked once the journal is acknowledged whole: for a run
    // Drain() waits on (its journal is final: `local_final`) and for leftovers awaiting it, at most
    // every `confirm_every` until `confirm_until`. `confirm_done`: confirmed, not needed, or given up.
    bool confirm = false;
    bool confirm_done = false;
    bool confirmed = false;
    bool local_final = false;
    bool resent = false;  // this shipper sent bytes of it: the server may still be indexing them
    std::chrono::steady_clock::time_point confirm_until{}, next_confirm{};
    std::chrono::milliseconds confirm_every{5000};
  };
  // Keyed by run id; a run's adopted system-metrics stream by "<id>/system" ('/' is in no id).
  std::map<std::string, Tracked, std::less<>> runs;
  uint64_t round = 0;  // rounds of Loop() started (under mu), so Drain can ask for a later one
  ShippingStatus state;  // under mu; ShippingStatus::server etc. filled in by the constructor
  // The store-wide alias sweep (alias_sweep.h), on the thread only; under mu: the round that last
  // finished a pass, whether that pass left nothing to send, the last refusal reported.
  remote::AliasSweep alias_sweep{layout};
  uint64_t aliases_round = 0;
  bool aliases_current = false;
  std::string aliases_refused;
  // The alias changes already waiting when the shipper started (leftovers of earlier processes):
  // DrainAliases does not hold a closing Store for them, only for changes made since.
  std::set<std::string> aliases_at_start;
  std::thread thread;

  Tracked& Entry(const std::string& key, const StoreLayout& from, std::string_view id) {
    auto [it, inserted] = runs.try_emplace(key);
    if (inserted) {
      it->second.layout = from;
      it->second.id = std::string(id);
    }
    return it->second;
  }

  // A journal under `from` that an earlier process meant to ship (it has a `shipped` file) but
  // left unacknowledged.
  static bool Behind(const StoreLayout& from, const std::string& id) {
    std::error_code ec;
    if (!std::filesystem::exists(from.shipped_path(id), ec)) return false;
    auto acked = ReadShippedOffset(from, id);
    uint64_t size = std::filesystem::file_size(from.journal_path(id), ec);
    return acked.ok() && !ec && *acked < size;
  }

  // Runs an earlier process on this node meant to ship but left unacknowledged: a crash, or a
  // Finish() that timed out. Also their system-metrics streams (docs/SYSTEM.md), which have a
  // store root of their own inside the run folder. Runs whose writer is alive (lock held) are
  // left to it: the run's lock also covers its system stream, which lives in the same process.
  void AdoptLeftovers() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(layout.runs_dir(), ec)) {
      std::string id = e.path().filename().string();
      if (!ValidateRunId(id).ok()) continue;
      const StoreLayout system(layout.system_ship_root(id));
      const bool journal = Behind(layout, id), system_stream = Behind(system, id);
      const bool unconfirmed = !journal && AwaitsSealConfirmation(layout, id);
      if (!journal && !system_stream && !unconfirmed) continue;
      util::FileLock probe;
      auto free = util::FileLock::TryAcquire(layout.lock_path(id), &probe);
      if (!free.ok() || !*free) continue;
      std::lock_guard g(mu);
      if (journal || unconfirmed) {
        bool fresh = runs.find(id) == runs.end();
        Tracked& t = Entry(id, layout, id);
        if (fresh) t.leftover = true;
        if (fresh) StartConfirming(t, std::chrono::milliseconds(5000));
      }
      if (system_stream) {
        Tracked& t = Entry(id + "/system", system, id);
        t.leftover = true;
        t.artifacts_current = true;  // a system stream has no artifacts
      }
    }
  }

  // Asks for the sealed confirmation once the journal is acknowledged whole, for `options.seal_wait`.
  void StartConfirming(Tracked& t, std::chrono::milliseconds every) {
    t.confirm = true;
    t.confirm_done = false;
    t.confirm_until = std::chrono::steady_clock::now() + options.seal_wait;
    t.next_confirm = {};
    t.confirm_every = every;
  }

  // One sealed-confirmation question for a caught-up run that wants one (seal_confirm.h). True
  // when the server failed to answer (the round backs off).
  bool ConfirmRun(const std::string& key, const StoreLayout& from, const std::string& id,
                  remote::IngestClient& client, std::chrono::milliseconds* wait, int* failures) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard g(mu);
      auto it = runs.find(key);
      if (it == runs.end() || !it->second.confirm || it->second.confirm_done || now < it->second.next_confirm)
        return false;
    }
    remote::ConfirmOutcome c;
    if (AwaitsSealConfirmation(from, id)) {
      ShipProgress p;
      c = remote::ConfirmStep(from, id, client, &p);
      if (c.kind != remote::ConfirmOutcome::kRetry) *failures = 0;  // the server answered
    } else {
      c.kind = remote::ConfirmOutcome::kConfirmed;  // confirmed earlier, or a journal that is not ours to confirm
    }
    if (c.kind == remote::ConfirmOutcome::kRetry) {
      *wait = remote::Backoff(options, (*failures)++, c.retry_after);
      NoteFailure(remote::StepOutcome{remote::StepOutcome::kRetry, c.error, c.retry_after});
      return true;
    }
    {
      std::lock_guard g(mu);
      auto it = runs.find(key);
      if (it == runs.end()) return false;
      Tracked& t = it->second;
      const auto after = std::chrono::steady_clock::now();
      t.next_confirm = after + t.confirm_every;
      switch (c.kind) {
        case remote::ConfirmOutcome::kConfirmed:
          t.confirm_done = t.confirmed = true;
          break;
        case remote::ConfirmOutcome::kResend:  // the next round ships it again
          t.resent = true;
          t.next_confirm = {};
          t.confirm_until = after + options.seal_wait;
          wake = true;
          break;
        case remote::ConfirmOutcome::kNotFinal:  // final here but not there yet: the server is indexing
          t.confirm_done = (!t.local_final && !t.resent) || after >= t.confirm_until;
          break;
        case remote::ConfirmOutcome::kPending:
          t.confirm_done = after >= t.confirm_until;
          break;
        case remote::ConfirmOutcome::kFatal:
          t.confirm_done = true;
          std::fprintf(stderr, "runtrack: run %s: asking %s whether it is sealed failed: %s\n", id.c_str(),
                       options.server.c_str(), c.error.ToString().c_str());
          break;
        case remote::ConfirmOutcome::kRetry: break;
      }
      if (t.confirm_done && t.leftover && t.artifacts_current) runs.erase(it);
    }
    done_cv.notify_all();
    return false;
  }

  // The backlog: every tracked journal's bytes past its acknowledged offset (one stat and one
  // small read per journal, once per interval; never in Log()). Crossing the quota warns once on
  // stderr; the warning re-arms below 90% of the quota, so a backlog hovering at the limit does
  // not repeat it every second.
  void CheckQuota() {
    std::vector<std::pair<StoreLayout, std::string>> journals;
    {
      std::lock_guard g(mu);
      for (const auto& [key, t] : runs) journals.emplace_back(t.layout, t.id);
    }
    uint64_t behind = 0;
    for (const auto& [from, id] : journals) {
      std::error_code ec;
      const uint64_t size = std::filesystem::file_size(from.journal_path(id), ec);
      auto acked = ReadShippedOffset(from, id);
      if (!ec && acked.ok() && size > *acked) behind += size - *acked;
    }
    std::lock_guard g(mu);
    state.runs = journals.size();
    state.unacknowledged_bytes = behind;
    const uint64_t quota = options.quota_bytes;
    if (quota == 0) return;
    if (!state.over_quota && behind > quota) {
      state.over_quota = true;
      ++state.quota_warnings;
      std::fprintf(stderr,
                   "runtrack: journal shipping to %s is behind: %llu bytes not acknowledged, over the quota of "
                   "%llu bytes (RUNICORN_SHIP_QUOTA_MB); logging goes on and the local journals keep every "
                   "record until the server takes them\n",
                   options.server.c_str(), static_cast<unsigned long long>(behind),
                   static_cast<unsigned long long>(quota));
    } else if (state.over_quota && behind <= quota / 10 * 9) {
      state.over_quota = false;
      std::fprintf(stderr, "runtrack: journal shipping to %s is back under its quota: %llu bytes not acknowledged\n",
                   options.server.c_str(), static_cast<unsigned long long>(behind));
    }
  }

  void NoteFailure(const remote::StepOutcome& step) {
    if (step.kind != remote::StepOutcome::kRetry && step.kind != remote::StepOutcome::kFatal) return;
    std::lock_guard g(mu);
    state.last_error = step.error.message();
  }

  // After the run's journal round: its artifact versions the server lacks, one version per step,
  // on this thread (never in Log()). A refused version stops artifact shipping for the run only.
  // True when the server failed to answer (the round backs off).
  bool ShipArtifacts(const std::string& id, uint64_t this_round, remote::ArtifactClient& client, size_t* part,
                     std::chrono::milliseconds* wait, int* failures) {
    ArtifactShipProgress p;
    remote::StepOutcome step;
    for (int i = 0; i < 64 && !stopping; ++i) {
      step = remote::ArtifactStep(layout, id, client, part, &p);
      if (step.kind != remote::StepOutcome::kProgress) break;
    }
    if (step.kind == remote::StepOutcome::kRetry) *wait = remote::Backoff(options, (*failures)++, step.retry_after);
    else if (p.requests > 0) *failures = 0;  // the server answered
    NoteFailure(step);
    const bool server_failed = step.kind == remote::StepOutcome::kRetry;
    {
      std::lock_guard g(mu);
      auto it = runs.find(id);
      if (it == runs.end()) return server_failed;
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
    return server_failed;
  }

  // After the runs of a round: alias changes anywhere in the store. When the round already found
  // the server failing it only looks (so a closing Store with nothing to send need not wait).
  void SweepAliases(uint64_t this_round, remote::ArtifactClient& client, bool send, std::chrono::milliseconds* wait,
                    int* failures) {
    ArtifactShipProgress p;
    std::string refused;
    remote::StepOutcome step = alias_sweep.Pass(send ? &client : nullptr, &p, &refused);
    if (send && step.kind == remote::StepOutcome::kRetry) {
      *wait = remote::Backoff(options, (*failures)++, step.retry_after);
      NoteFailure(step);
    } else if (send && p.requests > 0) {
      *failures = 0;  // the server answered
    }
    {
      std::lock_guard g(mu);
      aliases_round = this_round;
      aliases_current = step.kind == remote::StepOutcome::kCaughtUp;
      if (!refused.empty() && refused != aliases_refused)
        std::fprintf(stderr, "runtrack: shipping artifact alias changes stopped: %s\n", refused.c_str());
      if (!refused.empty()) aliases_refused = refused;
    }
    done_cv.notify_all();
  }

  // One round over every run: a heartbeat for idle live runs, up to 64 batches per run, then its
  // artifacts; then the store's alias changes. Returns how long to wait before the next round
  // (the interval, or a backoff).
  std::chrono::milliseconds ShipRound(uint64_t this_round, remote::IngestClient& client,
                                      remote::ArtifactClient& artifact_client, size_t* part, size_t* batch,
                                      int* failures) {
    struct Job {
      std::string key;
      StoreLayout from;
      std::string id;
      bool system;
    };
    std::vector<Job> jobs;
    std::vector<Job> idle;  // live runs due a heartbeat (ShipperOptions::heartbeat)
    {
      std::lock_guard g(mu);
      const auto now = std::chrono::steady_clock::now();
      for (const auto& [key, t] : runs) {
        if (!t.fatal.ok()) continue;
        Job j{key, t.layout, t.id, key != t.id};
        if (!t.leftover && now - t.last_put >= options.heartbeat) idle.push_back(j);
        jobs.push_back(std::move(j));
      }
    }
    for (const Job& j : idle) {
      ShipProgress p;
      remote::StepOutcome step = remote::ProbeStep(j.from, j.id, client, &p);
      std::lock_guard g(mu);
      if (auto it = runs.find(j.key); it != runs.end() && step.kind == remote::StepOutcome::kCaughtUp)
        it->second.last_put = std::chrono::steady_clock::now();
    }
    std::chrono::milliseconds wait = options.interval;
    // In this round. Whether to go on is decided by this round alone: `failures` only sizes the
    // backoff, and the backoff is over once a round starts. (Gating on `failures` once stalled a
    // caught-up run for good: its round makes no journal request that could reset the count.)
    bool server_failed = false;
    for (const Job& j : jobs) {
      ShipProgress p;
      bool caught_up = false;
      // A bounded number of batches per run per round, so one busy run cannot starve the rest.
      for (int i = 0; i < 64 && !stopping; ++i) {
        remote::StepOutcome step = remote::ShipStep(j.from, j.id, client, batch, &p);
        caught_up = step.kind == remote::StepOutcome::kCaughtUp;
        NoteFailure(step);
        {
          std::lock_guard g(mu);
          if (step.kind == remote::StepOutcome::kProgress || step.kind == remote::StepOutcome::kCaughtUp)
            state.last_error.clear();
          auto it = runs.find(j.key);
          if (it != runs.end()) {
            it->second.acknowledged = p.acknowledged;
            it->second.local = p.local;
            if (p.requests > 0) it->second.last_put = std::chrono::steady_clock::now();
            if (p.bytes_sent > 0) it->second.resent = true;
            if (step.kind == remote::StepOutcome::kCaughtUp && it->second.leftover && it->second.artifacts_current &&
                (!it->second.confirm || it->second.confirm_done))
              runs.erase(it);
            else if (step.kind == remote::StepOutcome::kFatal) {
              it->second.fatal = step.error;
              std::fprintf(stderr, "runtrack: shipping run %s%s stopped: %s\n", j.id.c_str(),
                           j.system ? " (system-metrics stream)" : "", step.error.ToString().c_str());
            }
          }
        }
        done_cv.notify_all();
        if (step.kind == remote::StepOutcome::kProgress) {
          *failures = 0;
          continue;
        }
        if (step.kind == remote::StepOutcome::kRetry) {
          wait = remote::Backoff(options, (*failures)++, step.retry_after);
          server_failed = true;
        }
        break;
      }
      bool artifacts_stopped = true;
      {
        std::lock_guard g(mu);
        auto it = runs.find(j.key);
        artifacts_stopped = j.system || it == runs.end() || !it->second.artifact_fatal.ok();
      }
      if (!server_failed && !artifacts_stopped && !stopping)
        server_failed = ShipArtifacts(j.id, this_round, artifact_client, part, &wait, failures);
      if (caught_up && !server_failed && !stopping)
        server_failed = ConfirmRun(j.key, j.from, j.id, client, &wait, failures);
      if (server_failed) break;  // the server is unreachable or busy: back off for all runs
    }
    if (!stopping) SweepAliases(this_round, artifact_client, !server_failed, &wait, failures);
    return wait;
  }

  // Rounds of shipping at the interval (or after a backoff, or when Track/Drain wake it), and a
  // quota check at every interval even while backing off (a backoff grows to 30 s; the warning
  // should not wait for it).
  void Loop() {
    LowerShipperThreadPriority();
    AdoptLeftovers();
    remote::IngestClient client(options, &stopping);
    remote::ArtifactClient artifact_client(options, &stopping);
    size_t part = options.batch_bytes;
    size_t batch = options.batch_bytes;
    int failures = 0;
    auto next_round = std::chrono::steady_clock::now();
    std::unique_lock l(mu);
    while (!stopping) {
      const bool woken = wake;
      wake = false;
      if (woken || std::chrono::steady_clock::now() >= next_round) {
        const uint64_t this_round = ++round;
        l.unlock();
        const auto wait = ShipRound(this_round, client, artifact_client, &part, &batch, &failures);
        next_round = std::chrono::steady_clock::now() + wait;
        l.lock();
      }
      l.unlock();
      CheckQuota();
      l.lock();
      const auto until = std::min(next_round, std::chrono::steady_clock::now() + options.interval);
      wake_cv.wait_until(l, until, [&] { return wake || stopping.load(); });
    }
  }
};

JournalShipper::JournalShipper(StoreLayout layout, ShipperOptions options)
    : impl_(std::make_unique<Impl>(std::move(layout), std::move(options))) {
  impl_->aliases_at_start = remote::PendingAliasChangeKeys(impl_->layout);
  impl_->state.server = impl_->options.server;
  impl_->state.quota_bytes = impl_->options.quota_bytes;
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
  RUNTRACK_RETURN_IF_ERROR(remote::MarkAwaitingConfirmation(impl_->layout, run_id));
  {
    std::lock_guard l(impl_->mu);
    impl_->Entry(std::string(run_id), impl_->layout, run_id).leftover = false;
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
  if (!done || !tracked.fatal.ok()) return result;
  // Acknowledged whole: now the sealed confirmation (seal_confirm.h), at most seal_wait. A single
  // viewer confirms at once; a team replica once the run is sealed, in the bucket and indexed.
  impl_->StartConfirming(tracked, std::chrono::milliseconds(250));
  tracked.local_final = true;
  impl_->wake = true;
  impl_->wake_cv.notify_all();
  const bool settled = impl_->done_cv.wait_for(l, impl_->options.seal_wait + std::chrono::seconds(1), [&] {
    return tracked.confirm_done || !tracked.fatal.ok();
  });
  if (settled && !tracked.fatal.ok()) return tracked.fatal;
  if (settled && (tracked.confirmed || !AwaitsSealConfirmation(impl_->layout, run_id))) {
    impl_->runs.erase(std::string(run_id));
    return Status::Ok();
  }
  // Not confirmed: kept as a leftover, asked about while this shipper lives, then by the next one.
  tracked.leftover = true;
  tracked.confirm_done = false;
  tracked.confirm_every = std::chrono::milliseconds(5000);
  tracked.confirm_until = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  return Status::FailedPrecondition(fmt::format(
      "run {}: {} acknowledged the whole journal but did not confirm it sealed beyond its owner's disk within {} "
      "ms; the journal is kept for a resend and the run checked again (this process, the next Store with a server "
      "on this root, or runicorn sync)",
      run_id, impl_->options.server, impl_->options.seal_wait.count()));
}

Status JournalShipper::DrainAliases(std::chrono::milliseconds timeout) {
  const std::set<std::string> pending = remote::PendingAliasChangeKeys(impl_->layout);
  if (std::includes(impl_->aliases_at_start.begin(), impl_->aliases_at_start.end(), pending.begin(), pending.end()))
    return Status::Ok();  // nothing, or only leftovers: the background rounds (or a sync) send those
  std::unique_lock l(impl_->mu);
  const uint64_t round_now = impl_->round;
  impl_->wake = true;
  impl_->wake_cv.notify_all();
  const bool done = impl_->done_cv.wait_for(
      l, timeout, [&] { return impl_->aliases_round > round_now && impl_->aliases_current; });
  if (done) return Status::Ok();
  return Status::FailedPrecondition(fmt::format(
      "artifact alias changes were not all acknowledged by {} before the timeout; they are shipped later (the "
      "next Store with a server on this root, or runicorn sync)",
      impl_->options.server));
}

ShippingStatus JournalShipper::status() const {
  std::lock_guard l(impl_->mu);
  return impl_->state;
}

Result<uint64_t> ShipQuotaFromEnv(uint64_t fallback) {
  const char* text = std::getenv("RUNICORN_SHIP_QUOTA_MB");
  if (text == nullptr || *text == '\0') return fallback;
  const std::string_view s(text);
  uint64_t mib = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), mib);
  // 2^44 MiB is 16 EiB: the largest count whose bytes fit in 64 bits.
  if (ec != std::errc() || end != s.data() + s.size() || mib >= (uint64_t{1} << 44))
    return Status::InvalidArgument(fmt::format(
        "RUNICORN_SHIP_QUOTA_MB must be a whole number of MiB (0: no quota), got '{}'", s.substr(0, 64)));
  return mib << 20;
}

}  // namespace runtrack
