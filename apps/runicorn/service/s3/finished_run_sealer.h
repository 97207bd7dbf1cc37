// Seals and publishes a shipped run as soon as it ends, and tells whether it is durable beyond this
// replica's disk (docs/SCALE-OUT.md "Finished runs"): the RunSealing of `runicorn viewer --catalog
// postgresql://… --objects s3://…`.
//
// Without it a finished run waits for the catalog's background sealer and the publisher's periodic
// pass, and nothing tells its writer when the run stopped depending on this replica's disk. With
// it, every ingest that appended bytes notes the run (Appended, on the I/O thread: a map insert);
// a thread of its own looks at noted runs every `period`: once a run's status is final here and
// the receiver has let it go (the `receiving` marker is gone: ReceiverOptions::linger), it seals
// it now (Catalog::SealFinishedRuns) and runs one publisher pass (segments to the bucket, then the
// segment index), so the run is sealed and indexed within a pass or two of its linger.
//
// State() is what GET /api/ingest/{run}/state reports: `sealed` only when every point the catalog
// holds of the run is in a sealed series (sums of point counts agree), and the segment index in
// PostgreSQL lists exactly those series (same counts, CRCs and sizes) for a run whose `runs` row
// is not running — read from PostgreSQL, not from what this process believes it wrote.
//
// Without the thread (FinishedRunSealerOptions::background false) the owner looks at the noted runs
// itself with Pass(): a test harness that publishes on demand (viewer/team_backend.h PublishNow).
//
// Thread safety: every method from any thread; passes are serialised.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtrack/catalog.h"
#include "service/run_sealing.h"
#include "service/s3/segment_index.h"

namespace runicorn::service::s3 {

struct FinishedRunSealerOptions {
  std::chrono::milliseconds period{250};              // how often noted runs are looked at
  std::chrono::milliseconds give_up{std::chrono::minutes(2)};  // a run not sealed this long after
                                                      // its last append is left to the periodic passes
  bool background = true;  // false: no thread of its own; the owner calls Pass()
};

class FinishedRunSealer : public RunSealing {
 public:
  using CatalogFn = std::function<std::shared_ptr<runtrack::Catalog>()>;
  // One publisher pass: the run's objects to the bucket and its rows to the segment index.
  using PublishFn = std::function<runtrack::Status()>;

  FinishedRunSealer(std::filesystem::path root, CatalogFn catalog, std::shared_ptr<SegmentIndex> index,
                    PublishFn publish, FinishedRunSealerOptions options = {});
  ~FinishedRunSealer() override;  // Stop()

  void Appended(std::string_view run_id) override;
  runtrack::Result<RunSealState> State(std::string_view run_id, std::string_view stream) const override;
  // Ends the thread; later Appended calls are ignored. Call before the catalog closes.
  void Stop();
  // One look at the noted runs, as the thread takes every `period`: seals those final here and let
  // go by the receiver, runs the publisher pass when one is due, forgets the runs now indexed (and
  // those past give_up). The last failure of the pass is returned; its runs stay noted.
  runtrack::Status Pass();

  // Runs noted and not yet sealed (tests).
  size_t pending() const;

 private:
  struct Local {
    bool running = true;          // the run's status here
    bool final = false;           // status final from its record, the stream ended
    bool points_sealed = false;   // every point in a sealed series
    std::vector<runtrack::SealedObjectRef> refs;  // the run's sealed series, by series id
  };
  // `sealed`: the catalog's ListSealedObjects when the caller has it already.
  runtrack::Result<Local> LocalState(std::string_view run_id, std::string_view stream,
                                     const std::vector<runtrack::SealedObjectRef>* sealed = nullptr) const;
  runtrack::Result<bool> Indexed(std::string_view run_id, const Local& local) const;
  void Note(std::string_view run_id) const;
  void Loop();

  const std::filesystem::path root_;
  const CatalogFn catalog_;
  const std::shared_ptr<SegmentIndex> index_;
  const PublishFn publish_;
  const FinishedRunSealerOptions options_;

  // State() notes a final run it finds unsealed too (after a restart nothing else would hurry it).
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stop_ = false;
  mutable std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> pending_;  // run -> give-up
  std::string last_error_;  // the last failure printed (each distinct one once); guarded by mu_
  std::mutex pass_mu_;      // serialises Pass() (the thread's and the owner's); taken before mu_
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace runicorn::service::s3
