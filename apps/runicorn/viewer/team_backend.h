// The team back end of `runicorn viewer --catalog postgresql://… --objects s3://…`
// (docs/SCALE-OUT.md): the bucket, the PostgreSQL catalogs and the publishers that keep them
// current, wired onto an AppContext. The viewer's composition root and the test harness attach
// the same wiring through it, so a test serves exactly what a replica serves.
//
// In two steps, because the catalog reads sealed segments its disk lacks from the bucket:
// Open() checks --objects and opens the bucket before AppContext::Open (which takes
// segment_source()); Attach() wires the rest onto the opened context. Either option may be
// absent (neither: nothing is wired). Without libpq, --catalog fails in Attach as it always has.
//
// Errors: a Status whose message is what `runicorn viewer: ` prefixes; kInvalidArgument means the
// command line is wrong (exit 2), any other code that the back end could not be used.
//
// Lifetime: the publishers read the context's store, so stop (or destroy) the back end before the
// context closes. The context's ingest service keeps the sealer, which answers after Stop() too.
//
// Thread safety: Open, Attach and Stop from the owner's thread; PublishNow from any thread (each
// publisher serialises its passes, whether run here or in the background).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "runtrack/status.h"

namespace runtrack {
class SealedObjectSource;  // runtrack/sealed_objects.h
}  // namespace runtrack
namespace runicorn::server {
struct AppContext;  // server/app_context.h
}  // namespace runicorn::server
namespace runicorn::service::s3 {
class FinishedRunSealer;  // service/s3/finished_run_sealer.h
}  // namespace runicorn::service::s3

namespace runicorn::viewer {

struct TeamBackendOptions {
  std::optional<std::string> catalog;  // --catalog postgresql://… (no password in it)
  std::optional<std::string> objects;  // --objects s3://BUCKET/PREFIX?endpoint=…&region=…
  // How often each background publisher runs its pass.
  std::chrono::milliseconds publish_interval{2000};
  // false: nothing runs in the background (not even the finished-run sealer's thread); the owner
  // makes what was written visible with PublishNow(). Tests use it to be deterministic.
  bool start_background = true;
};

class TeamBackend {
 public:
  // Checks the --objects URL, loads the credentials and checks the bucket answers
  // (service/s3/objects_option.h); nothing else is opened yet.
  static runtrack::Result<std::unique_ptr<TeamBackend>> Open(TeamBackendOptions options);
  ~TeamBackend();  // Stop()
  TeamBackend(const TeamBackend&) = delete;
  TeamBackend& operator=(const TeamBackend&) = delete;

  // For AppContext::Open: where sealed segments missing from the store's disk are read (the
  // bucket); null without --objects.
  std::shared_ptr<const runtrack::SealedObjectSource> segment_source() const;

  // After AppContext::Open, before the server starts: the run index, artifacts, segment index, run
  // files and users in PostgreSQL (with --catalog), the publishers to the bucket (with --objects),
  // started unless start_background is false. Call once. A failure leaves nothing running; the
  // context may already hold some of the wiring, so it is not to be served.
  runtrack::Status Attach(server::AppContext& context);

  // One pass of every publisher, now, in dependency order: finished shipped runs sealed, artifacts
  // logged into the store to PostgreSQL and the pool, the store's chunks to the bucket, sealed
  // segments to the bucket and then to the segment index, finished runs' logs and files, and last
  // the catalog's chunk reference list. Every pass runs; the first failure is returned. The run
  // index mirror is not a publisher but the indexer's (AppContext::after_index_pass): run it first,
  // since a run's segments are read through its `runs` row (PgSegmentIndex::ReadRun joins on it).
  runtrack::Status PublishNow();

  // The finished-run sealer (with --catalog and --objects; else null), which --replica-url's
  // bucket release asks which runs still depend on this disk.
  std::shared_ptr<service::s3::FinishedRunSealer> finished_runs() const;
  const std::optional<std::string>& catalog() const { return options_.catalog; }

  // Stops the background publishers (the sealer first, the artifact mirror last, as the viewer
  // always has). Idempotent; PublishNow still works after it while the context is open.
  void Stop();

 private:
  struct Parts;  // team_backend.cpp: the bucket, the indexes and the publishers
  explicit TeamBackend(TeamBackendOptions options);

  TeamBackendOptions options_;
  std::unique_ptr<Parts> parts_;
};

}  // namespace runicorn::viewer
