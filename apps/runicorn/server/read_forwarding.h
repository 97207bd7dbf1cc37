// Reads of a live run among viewer replicas (docs/SCALE-OUT.md "Reads of a live run"): the newest
// points and log lines of a live run are only on its owner's disk (the replica holding the run's
// ownership lock, service::RunOwnership), so a replica that does not own a live run answers its
// data reads — metrics_step, metrics, exports, stream views, media, and the WebSocket live
// streams — from the owner instead of from its partial copy.
//
// A read is forwarded when another replica owns the run's bucket AND the run catalog does not know
// the run as ended (running, or unknown here). Everything else is answered locally, as before:
// runs this replica owns, runs nobody owns (the owner died: answered from the bucket and the local
// copy, whatever there is), ended runs (sealed in the bucket), and every read when ownership cannot
// be told (PostgreSQL down: reads keep working from local data). Ownership answers are cached per
// bucket for at most 1 s (RunOwnership::Find) and run states for kStateTtl, so a chart's requests
// do not cost a PostgreSQL round trip each.
//
// HTTP reads: the request goes to the owner's --replica-url as the ingest forward does (same
// target, end-to-end headers, `X-Runicorn-Forwarded-By`, `X-Forwarded-For`), minus Origin and the
// Sec-Fetch-* headers — the browser's origin was checked here, by the replica it reached, and the
// owner would compare it with its own address. The owner's status and headers (Content-Type,
// Content-Encoding, ETag, Content-Disposition, the metric paging headers) come back as they are,
// and its body is streamed: each piece is read from the owner when the client's connection takes
// the previous one, through one buffer of at most `max_buffer_bytes`, so a 10^7-point export
// costs bounded memory here whatever its size (and a slow client slows the owner, not memory).
//
// A HEAD is forwarded as a HEAD: the owner's Content-Length and entity headers come back as they
// are, with no body.
//
// WebSocket streams are proxied message by message (OwnerStream in read_forwarding.cpp): the
// upgrade is forwarded with the request's headers; the owner's messages are read without blocking
// each time the local session polls (it polls only once its previous messages are written), so a
// slow browser stops the reads from the owner (TCP backpressure) instead of queueing here. Either
// side closing closes the other. With the replica's own stream factories attached
// (AttachLocalStreams), a stream of a live run follows its owner instead: opened here while nobody
// owns the run, it switches to relaying once a replica takes it; relayed from an owner that dies,
// it goes on from the next owner or from here (server/stream_following.h).
//
// Loops and deadlock: as for ingest (ingest_forwarding.h): a forwarded request that reaches a
// replica which does not own the run is not forwarded again (503 + Retry-After); at most
// `max_in_flight` forwards — an HTTP read from its request until its body is fully relayed, a
// stream's upgrade until it is accepted — run at once, the rest answer 503 + Retry-After at once,
// so each replica always keeps an I/O thread and a worker for the requests forwarded to it.
//
// Thread safety: Route/RouteStream from any number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "runtrack/status.h"
#include "server/http_types.h"
#include "server/streams.h"
#include "service/run_ownership.h"
#include "service/storage.h"

namespace runicorn::server {

struct ReadForwardingOptions {
  size_t max_in_flight = 1;                          // forwards at once (see above)
  std::chrono::milliseconds connect_timeout{2000};   // the owner is unreachable after this
  std::chrono::milliseconds read_timeout{30000};     // for the owner's headers, then for each piece
  size_t max_buffer_bytes = 256u << 10;              // the proxy's buffer for an owner's answer
  size_t idle_connections_per_owner = 4;             // kept-alive connections reused for reads
  std::chrono::milliseconds state_ttl{1000};         // how long a run's ended/live state is kept
};

class ReadForwarding {
 public:
  ReadForwarding(std::shared_ptr<service::RunOwnership> ownership, ReadForwardingOptions options);
  ~ReadForwarding();

  // nullopt: answer the read of `req.Param("run_id")` here. Otherwise the answer to send: the
  // owner's (its body streamed), or 503 + Retry-After (forwarded here already, too many forwards,
  // owner unreachable). `catalog` tells whether the run has ended.
  std::optional<Response> Route(const Request& req, const service::RunCatalog& catalog) const;

  // The same decision for a WebSocket stream route: nullopt to serve it here, else the stream
  // relayed from the owner or why it cannot be (Busy: 503).
  std::optional<runtrack::Result<std::unique_ptr<StreamSource>>> RouteStream(
      const Request& req, const service::RunCatalog& catalog) const;

  // Forwards `req` to `owner` as a read of a live run is forwarded (the same headers, in-flight
  // slots and streamed body), for a read whose owner is known without run ownership: a training
  // job's log (training_log_forwarding.h). `subject` and `owner_label` name them in a 503 ("training
  // job ID runs" / "the job's replica").
  Response ForwardTo(const Request& req, const service::RunOwner& owner, const std::string& subject,
                     const std::string& owner_label) const;
  // This replica's id, as its forwards name it (X-Runicorn-Forwarded-By).
  const std::string& replica_id() const;

  // Streams of a live run follow its owner (stream_following.h), served here through `ctx`'s own
  // stream factories (streams.h). Call before serving; `ctx` outlives this object's streams.
  void AttachLocalStreams(const AppContext* ctx) { ctx_ = ctx; }

  // Counters for tests and health: reads answered by an owner, streams proxied, and the largest
  // size the proxy's buffer for an owner's answer ever reached (never above max_buffer_bytes).
  uint64_t forwarded() const;
  uint64_t streams_proxied() const;
  size_t peak_buffer_bytes() const;

  struct Shared;  // what streamed bodies keep after Route returned (read_forwarding.cpp)

 private:
  // The owner to forward to, or nullopt for "answer here"; `refusal` (503) when neither.
  struct Decision {
    std::optional<service::RunOwner> owner;
    std::optional<std::string> refusal;
    bool live = false;  // a live run whose owner is known (now, or nobody): a stream may follow it
  };
  Decision Decide(const Request& req, const service::RunCatalog& catalog, bool for_stream) const;
  // The stream route relayed from `owner` (the upgrade forwarded), under an in-flight slot.
  runtrack::Result<std::unique_ptr<StreamSource>> OpenRelay(const Request& req, const service::RunOwner& owner) const;
  // The stream route served here by the attached factories (never routed again).
  runtrack::Result<std::unique_ptr<StreamSource>> OpenLocal(const Request& req) const;
  std::optional<runtrack::Result<std::unique_ptr<StreamSource>>> FollowStream(const Request& req, const Decision& d,
                                                                              const service::RunCatalog& catalog) const;
  bool Ended(const std::string& run_id, const service::RunCatalog& catalog) const;

  std::shared_ptr<service::RunOwnership> ownership_;
  std::shared_ptr<Shared> shared_;
  const AppContext* ctx_ = nullptr;
  mutable std::mutex state_mu_;
  mutable std::map<std::string, std::pair<bool, std::chrono::steady_clock::time_point>> ended_;
};

// First line of a run read handler: answers from the run's owner when it must (see above).
#define RUNICORN_FORWARD_READ_TO_OWNER(ctx, req)                                                      \
  if ((ctx).read_forwarding)                                                                          \
    if (auto forwarded_ = (ctx).read_forwarding->Route((req), (ctx).services->run_catalog); forwarded_) \
  return std::move(*forwarded_)

}  // namespace runicorn::server
