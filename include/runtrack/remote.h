// Journal shipping: a writer's journal, copied byte for byte to a central viewer (docs/REMOTE.md).
//
// The local journal is the spool: a Run always writes it first, and a shipper sends the bytes the
// server has not acknowledged, with `PUT /api/ingest/{run_id}/{stream}?offset=N` (body: a zstd
// frame of whole CRC-framed records). The server verifies every record, appends at N, fsyncs and
// answers the durable offset; bytes it already has are acknowledged again (idempotent resend), an
// offset past its end is a gap (409 with expected_offset). The client keeps the acknowledged
// offset in <run dir>/shipped, so every (run, stream, byte offset) lands exactly once.
//
//   JournalReceiver  server side: verify + append to <root>/runs/<run_id>/journal.
//   JournalShipper   client side: a background thread per Store that ships the runs it created.
//   ShipRun          one run, synchronously, until the server has everything (`runicorn sync`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtrack/compacted_run.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack {

// A multi-process run (DDP: one process per rank) is one run id with one journal stream per
// process: its rank ("0", "1", ...) or "host:pid". Stream "0" is rank 0, which owns the run's
// status, summary and config; a single-process run is stream "0" alone. The viewer stores stream
// S as journal.S beside the run's journal and its catalog merges them (docs/REMOTE.md "Streams").
inline constexpr std::string_view kDefaultJournalStream = "0";

// A stream name is 1-64 characters of [A-Za-z0-9_.:-] not starting with '.', so it is one path
// component. InvalidArgument "Invalid stream '<s>': ..." otherwise.
Status ValidateJournalStream(std::string_view stream);

// The stream a writer's run ships as: <run dir>/stream (absent: "0").
Result<std::string> ReadShippingStream(const StoreLayout& layout, std::string_view run_id);

// ---------------------------------------------------------------------------------------------
// Server side.

struct ReceiverOptions {
  // A run still arriving whose writers sent nothing (not even an idle heartbeat, see
  // ShipperOptions::heartbeat) for this long is let go: the receiver releases its lock and
  // removes its `receiving` marker, so the catalog's liveness check marks it failed
  // ("process_not_found") as it does a local run whose process died. A PUT that arrives later
  // takes the run up again (the catalog then shows it running). Zero: never.
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  // After every stream of a run ended, the receiver keeps the run's `receiving` marker (and lock)
  // this much longer, so the catalog, which reads streams only of runs still arriving, also
  // merges a rank that connects late (after the others had ended). Zero: release at once.
  std::chrono::milliseconds linger{std::chrono::seconds(10)};
};

struct IngestOutcome {
  // false: the bytes (or the part of them the server lacked) are durable up to `offset`.
  // true: `offset` is past the server's copy; resend from `offset` (the server's length).
  bool gap = false;
  uint64_t offset = 0;
};

// Appends verified byte ranges to the journals of a store's runs.
//
// Errors: InvalidArgument for a bad run id or stream, an offset inside the 12-byte header, a body
// that is not whole valid records (wrong header, bad length, CRC mismatch, a record cut short) —
// nothing is appended then; FailedPrecondition when the bytes overlapping the server's copy differ
// from it (another writer's journal under the same id), or when a local process holds the run's
// lock; IOError when the disk refuses.
//
// Durability: the answer is sent after fdatasync of the appended bytes (and of the folder when the
// journal was created). A crash mid-append leaves at most a torn record, which is cut off the next
// time the run is opened here, so the server never acknowledges bytes it could lose.
//
// While a run's final Status record has not arrived, the receiver holds the run's `lock`, so the
// catalog shows the run as running (and a local writer cannot take the same id).
//
// Thread safety: any number of threads; appends to one run are serialised, runs are independent.
class JournalReceiver {
 public:
  explicit JournalReceiver(StoreLayout layout, ReceiverOptions options = {});
  ~JournalReceiver();
  JournalReceiver(const JournalReceiver&) = delete;
  JournalReceiver& operator=(const JournalReceiver&) = delete;

  // `bytes` are the raw (decompressed) journal bytes that start at `offset`. Empty bytes ask for
  // the durable length without appending.
  Result<IngestOutcome> Append(std::string_view run_id, std::string_view stream, uint64_t offset,
                               std::string_view bytes);

  // Installs a run compacted in another store over this store's copy (SSH pull sync; see
  // runtrack/compacted_run.h, which checks and writes the files): under the run's append lock,
  // the receiver lets go of the copy it holds open (its files and lock), installs, and reads the
  // run from disk again at its next Append (a compacted journal: ended, at its original length).
  Result<CompactedInstall> InstallCompactedRun(std::string_view run_id, const CompactedRunFiles& run);

  // Lets go of runs whose lease ran out (ReceiverOptions::lease); returns how many. A background
  // thread calls it every second; tests call it to avoid waiting.
  int ExpireLeases();
  void SetLease(std::chrono::milliseconds lease);
  void SetLinger(std::chrono::milliseconds linger);

  // Counters since construction, for tests and benchmarks: what exactly-once costs on the wire.
  struct Stats {
    uint64_t requests = 0;        // Append calls that passed validation
    uint64_t bytes_appended = 0;  // new journal bytes written (each byte of a journal once)
    uint64_t bytes_resent = 0;    // bytes a request carried that the server already had
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The wire encoding of an ingest body: one zstd frame. Decompress refuses output larger than
// `max_bytes` (a small body must not expand into gigabytes) with InvalidArgument.
std::string CompressIngestBody(std::string_view raw);
Result<std::string> DecompressIngestBody(std::string_view body, size_t max_bytes);

// ---------------------------------------------------------------------------------------------
// Client side.

struct ShipperOptions {
  // "http://host:port" (https too); empty: shipping is off.
  std::string server;
  // Sent as `Authorization: Bearer <token>` when not empty.
  std::string token;
  // How often the shipper looks for new journal bytes when nobody wakes it.
  std::chrono::milliseconds interval{1000};
  // Raw bytes per PUT (whole records; a record larger than this goes alone). Halved when the
  // server answers 413.
  size_t batch_bytes = 512u << 10;
  // Backoff after a failed PUT: doubles from min to max, each wait drawn with +-50% jitter; a
  // 503's Retry-After is a lower bound. There is no give-up: the local journal is the queue.
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{30000};
  // Per-request network timeout.
  std::chrono::milliseconds request_timeout{30000};
  // A live run that has nothing new to ship still sends an empty PUT this often, so the viewer's
  // lease (ReceiverOptions::lease) tells an idle writer from a dead one.
  std::chrono::milliseconds heartbeat{std::chrono::seconds(60)};
  // Journal bytes not yet acknowledged, summed over the runs this shipper ships (journals it
  // tracks or adopted), above which it warns: one line on stderr per crossing, and
  // JournalShipper::status(). It never blocks Log() or drops a record: the journals are the
  // queue. Re-armed once the backlog is back under 90% of the quota. 0: no quota.
  uint64_t quota_bytes = uint64_t{1} << 30;
  // Sealed confirmation (docs/REMOTE.md): after the server acknowledged a finished run's whole
  // journal, how long Finish() (JournalShipper::Drain) and ShipRun (`runicorn sync`) wait for a
  // team back end to confirm the run sealed and published beyond its owner's disk. A run not
  // confirmed by then is checked again by the next shipper on the root or `runicorn sync`, and its
  // journal is kept uncompacted meanwhile. A single viewer confirms with the acknowledgement (no
  // wait). $RUNICORN_SEAL_WAIT (whole seconds) overrides it. The default covers the server's
  // linger on an ended run (ReceiverOptions::linger, 10 s) plus sealing and upload.
  std::chrono::milliseconds seal_wait{std::chrono::seconds(20)};
};

// $RUNICORN_SHIP_QUOTA_MB (a whole number of MiB; 0: no quota) as bytes, or `fallback` when it is
// unset or empty. InvalidArgument for anything else.
Result<uint64_t> ShipQuotaFromEnv(uint64_t fallback);

// What a JournalShipper is doing, for the writer to show (Store::shipping_status()).
struct ShippingStatus {
  std::string server;
  size_t runs = 0;                    // journals being shipped (adopted leftovers included)
  uint64_t unacknowledged_bytes = 0;  // summed over them, at the last check (once per interval)
  uint64_t quota_bytes = 0;           // ShipperOptions::quota_bytes
  bool over_quota = false;            // warned, and not yet back under 90% of the quota
  uint64_t quota_warnings = 0;        // crossings of the quota so far (each warned once)
  std::string last_error;             // why the last request failed; empty after a success
};

// RUNICORN_SERVER and RUNICORN_TOKEN, over `base`'s other fields.
ShipperOptions ShipperOptionsFromEnv(ShipperOptions base = {});

struct ShipProgress {
  uint64_t acknowledged = 0;  // durable on the server (also in <run dir>/shipped)
  uint64_t local = 0;         // end of the last whole record in the local journal
  uint64_t bytes_sent = 0;    // raw journal bytes this call sent (resends included)
  int requests = 0;           // PUTs this call made
  // The server confirmed the run durable beyond its owner's disk (or needs no sealing), now or
  // earlier (<run dir>/ship-confirmed). false with `awaiting_seal`: acknowledged, not yet sealed.
  bool confirmed = false;
  bool awaiting_seal = false;
};

// Ships one run until the server has every whole record of its journal. Transient failures
// (connection refused, timeouts, 5xx, 429) are retried with backoff up to `max_attempts` in a row
// (0: forever), then returned as IOError. A 4xx other than 409/413/429 is returned at once.
Result<ShipProgress> ShipRun(const StoreLayout& layout, std::string_view run_id, const ShipperOptions& options,
                             int max_attempts = 0);

// The acknowledged offset recorded in <run dir>/shipped (0 when absent).
Result<uint64_t> ReadShippedOffset(const StoreLayout& layout, std::string_view run_id);
// The offset the server confirmed sealed (or acknowledged without sealing), in
// <run dir>/ship-confirmed (0 when absent).
Result<uint64_t> ReadConfirmedOffset(const StoreLayout& layout, std::string_view run_id);
// A run this node ships whose journal the server acknowledged whole but has not confirmed sealed:
// it is still needed for a resend (a team replica that died before sealing), so it is not compacted.
bool AwaitsSealConfirmation(const StoreLayout& layout, std::string_view run_id);

// A background thread that ships the journals of the runs given to Track(), and what earlier
// processes on this root left unacknowledged (their journals and system-metrics streams, when no
// process holds the run's lock). Created by a Store whose options (or environment) name a server;
// shared by the Store and its Runs.
//
// Log() never waits on it: it reads the journal file, never the writer's buffer. Drain() is what
// Run::Finish() calls after the final record is on disk.
//
// Thread safety: every method may be called from any thread.
class JournalShipper {
 public:
  JournalShipper(StoreLayout layout, ShipperOptions options);
  ~JournalShipper();  // stops the thread; what is not acknowledged stays for the next shipper
  JournalShipper(const JournalShipper&) = delete;
  JournalShipper& operator=(const JournalShipper&) = delete;

  // Marks the run as one to ship (writes <run dir>/shipped = 0 if absent, so a later shipper or
  // `runicorn sync` knows it was meant for the server, and <run dir>/stream unless `stream` is
  // "0") and wakes the thread. InvalidArgument for a bad stream name.
  Status Track(std::string_view run_id, std::string_view stream = kDefaultJournalStream);
  // Waits until every whole record of the run's journal is acknowledged, or `timeout`. After a
  // successful drain the run is no longer tracked. Returns FailedPrecondition on timeout (the
  // rest is shipped later), ok otherwise.
  Status Drain(std::string_view run_id, std::chrono::milliseconds timeout);
  // The backlog and quota state as of the last check (a copy; never waits on the network).
  ShippingStatus status() const;
  // User aliases (docs/REMOTE.md "User aliases"): besides the aliases on a tracked run's versions,
  // the thread ships, every round, any alias of the store set, moved or removed since it was last
  // shipped whose version is on the server (after the run's Finish(), or with no run at all).
  // DrainAliases returns at once when no such change is waiting other than those already waiting
  // when this shipper started (local reads only); otherwise it wakes the thread and waits until a
  // round started after the call found none left to send, or `timeout` (FailedPrecondition: they
  // are shipped later, by this or the next shipper on the root, or `runicorn sync`). ~Store
  // calls it.
  Status DrainAliases(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
