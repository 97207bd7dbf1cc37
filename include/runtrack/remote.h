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

#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack {

// The only stream this version accepts: one writer process per run. Multi-process runs
// (journal.<rank>) are later work.
inline constexpr std::string_view kDefaultJournalStream = "0";

// ---------------------------------------------------------------------------------------------
// Server side.

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
  explicit JournalReceiver(StoreLayout layout);
  ~JournalReceiver();
  JournalReceiver(const JournalReceiver&) = delete;
  JournalReceiver& operator=(const JournalReceiver&) = delete;

  // `bytes` are the raw (decompressed) journal bytes that start at `offset`. Empty bytes ask for
  // the durable length without appending.
  Result<IngestOutcome> Append(std::string_view run_id, std::string_view stream, uint64_t offset,
                               std::string_view bytes);

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
};

// RUNICORN_SERVER and RUNICORN_TOKEN, over `base`'s other fields.
ShipperOptions ShipperOptionsFromEnv(ShipperOptions base = {});

struct ShipProgress {
  uint64_t acknowledged = 0;  // durable on the server (also in <run dir>/shipped)
  uint64_t local = 0;         // end of the last whole record in the local journal
  uint64_t bytes_sent = 0;    // raw journal bytes this call sent (resends included)
  int requests = 0;           // PUTs this call made
};

// Ships one run until the server has every whole record of its journal. Transient failures
// (connection refused, timeouts, 5xx, 429) are retried with backoff up to `max_attempts` in a row
// (0: forever), then returned as IOError. A 4xx other than 409/413/429 is returned at once.
Result<ShipProgress> ShipRun(const StoreLayout& layout, std::string_view run_id, const ShipperOptions& options,
                             int max_attempts = 0);

// The acknowledged offset recorded in <run dir>/shipped (0 when absent).
Result<uint64_t> ReadShippedOffset(const StoreLayout& layout, std::string_view run_id);

// A background thread that ships the journals of the runs given to Track(). Created by a Store
// whose options (or environment) name a server; shared by the Store and its Runs.
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
  // `runicorn sync` knows it was meant for the server) and wakes the thread.
  Status Track(std::string_view run_id);
  // Waits until every whole record of the run's journal is acknowledged, or `timeout`. After a
  // successful drain the run is no longer tracked. Returns FailedPrecondition on timeout (the
  // rest is shipped later), ok otherwise.
  Status Drain(std::string_view run_id, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runtrack
