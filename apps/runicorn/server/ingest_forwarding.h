// Ingest among viewer replicas (docs/SCALE-OUT.md "Replicas"): a replica appends only to the runs
// it owns (service::RunOwnership); an ingest PUT for a run another replica owns — or, when nobody
// holds the run's bucket, for a run whose bucket belongs to another live replica (`unclaimed`: it
// takes the bucket when the request arrives) — is forwarded to that replica's --replica-url —
// same method, target, headers (authorisation included) and body — and its answer is returned as
// it is. The writer cannot tell a forwarded answer from a local one.
//
// Forwarded requests carry `X-Runicorn-Forwarded-By: <replica id>` and are never forwarded a
// second time: a replica that receives one for a run it does not own (ownership moved meanwhile)
// answers 503 with Retry-After, and the writer retries through whichever replica it reaches.
//
// Deadlock: a forward waits on the calling I/O thread. Two replicas forwarding to each other with
// every I/O thread waiting would each wait for a thread the other holds, so at most
// `max_in_flight` forwards run at once (the viewer sets it below its thread count): a replica
// always keeps a thread for the requests forwarded to it, which never wait on another replica.
// Forwards over the limit answer 503 with Retry-After at once.
//
// Thread safety: Route from any number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "server/http_types.h"
#include "service/run_ownership.h"

namespace runicorn::server {

// The replica URL's parts: only "http://HOST:PORT" (an optional trailing "/"); HOST may be a name,
// an IPv4 address or a bracketed IPv6 address. InvalidArgument otherwise.
struct ReplicaAddress {
  std::string host;  // without brackets
  std::string port;
};
runtrack::Result<ReplicaAddress> ParseReplicaUrl(std::string_view url);

// The header a forwarded request carries (lower case, as Request::headers holds names).
inline constexpr const char* kForwardedByHeader = "x-runicorn-forwarded-by";

// Shared by every forward to an owner (ingest here, reads in read_forwarding.*): 503 with
// Retry-After: 1, and whether a request header (lower case) describes one hop rather than the
// request, so it is never copied to the owner.
Response ForwardUnavailable(std::string detail);
bool IsHopByHopHeader(const std::string& name);

struct IngestForwardingOptions {
  size_t max_in_flight = 1;                          // forwards waiting at once (see above)
  std::chrono::milliseconds connect_timeout{2000};   // the owner is unreachable after this
  std::chrono::milliseconds request_timeout{30000};  // the whole exchange, fsync included
  size_t max_answer_bytes = 1u << 20;                // an ingest answer is a small JSON object
  size_t idle_connections_per_owner = 4;             // kept-alive connections reused for forwards
};

class IngestForwarding {
 public:
  IngestForwarding(std::shared_ptr<service::RunOwnership> ownership, IngestForwardingOptions options);
  ~IngestForwarding();

  // nullopt: this replica owns `run_id` — handle the request locally. Otherwise the answer to send:
  // the owner's (forwarded), or 503 + Retry-After when the owner cannot be decided or reached.
  // A run id that is not valid is left to the local handler (nullopt), which refuses it.
  std::optional<Response> Route(const Request& req, const std::string& run_id) const;

  // Forwards answered by an owner (tests and /api/health-style counters).
  uint64_t forwarded() const { return forwarded_; }

  class Connection;

 private:
  Response Forward(const Request& req, const service::RunOwner& owner) const;
  std::unique_ptr<Connection> TakeIdle(const std::string& url) const;
  void GiveBack(const std::string& url, std::unique_ptr<Connection> conn) const;

  std::shared_ptr<service::RunOwnership> ownership_;
  const IngestForwardingOptions options_;
  mutable std::atomic<size_t> in_flight_{0};
  mutable std::atomic<uint64_t> forwarded_{0};
  mutable std::mutex mu_;
  mutable std::vector<std::pair<std::string, std::unique_ptr<Connection>>> idle_;
};

}  // namespace runicorn::server
