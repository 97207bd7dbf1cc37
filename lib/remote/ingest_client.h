// One keep-alive HTTP connection to a viewer's ingest route, over libcurl (docs/REMOTE.md).
//
// Thread safety: one thread at a time (each shipper thread owns its client).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "runtrack/remote.h"

namespace runtrack::remote {

struct IngestReply {
  long status = 0;            // 0: no HTTP answer (connection refused, timeout, aborted)
  std::string body;
  std::string transport_error;
  std::optional<long> retry_after_seconds;
};

class IngestClient {
 public:
  // `abort` (optional) ends a request in flight when it turns true.
  explicit IngestClient(const ShipperOptions& options, const std::atomic<bool>* abort = nullptr);
  ~IngestClient();
  IngestClient(const IngestClient&) = delete;
  IngestClient& operator=(const IngestClient&) = delete;

  // PUT <server>/api/ingest/<run_id>/<stream>?offset=<offset> with `body` (a zstd frame).
  IngestReply Put(std::string_view run_id, std::string_view stream, uint64_t offset, const std::string& body);

  // Put() of `records` (raw journal bytes) compressed into one zstd frame at level 1, with a
  // compression context and output buffer kept across calls. Level 1, not zstd's default 3: the
  // shipper runs beside a training loop, and on journal bytes level 1 costs 40% less CPU than
  // level 3 at the same size (bench_ship_cost; any level decodes the same way on the server).
  IngestReply PutRecords(std::string_view run_id, std::string_view stream, uint64_t offset, std::string_view records);

  // GET <server>/api/ingest/<run_id>/state?stream=<stream>: the server's durable offset and whether
  // the run is sealed beyond its owner's disk (seal_confirm.h).
  IngestReply GetState(std::string_view run_id, std::string_view stream);

 private:
  const ShipperOptions options_;
  const std::atomic<bool>* abort_;
  void* curl_;  // CURL*, reused so the connection stays open between requests
  void* zstd_ = nullptr;  // ZSTD_CCtx*, created on first use
  std::string compressed_;
};

}  // namespace runtrack::remote
