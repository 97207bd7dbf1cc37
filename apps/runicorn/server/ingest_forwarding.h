// Ingest among viewer replicas (docs/SCALE-OUT.md "Replicas"): a replica appends only to the runs
// it owns (service::RunOwnership); an ingest PUT for a run another replica owns — or, when nobody
// holds the run's bucket, for a run whose bucket belongs to another live replica (`unclaimed`: it
// takes the bucket when the request arrives) — is forwarded to that replica's --replica-url —
// same method, target, headers (authorisation included) and body — and its answer is returned as
// it is. The writer cannot tell a forwarded answer from a local one.
//
// A free bucket's replica that does not answer: when the forward for an `unclaimed` bucket gets no
// HTTP answer at all (the connection is refused or times out, or the request gets no answer in
// time) — a replica whose PostgreSQL session lives but whose HTTP is hung, firewalled or
// registered at a wrong --replica-url — this replica takes the bucket itself
// (RunOwnership::ClaimInsteadOf: still the one exclusive lock) and handles the request locally,
// instead of answering 503 to every new run of that replica's buckets until its session ends. The
// replica is remembered as unreachable for `remember_unreachable`, so its other free buckets are
// taken at once, without a connect timeout each; an answered forward to it (any status) ends that.
// An answer with an HTTP status — 401, 409, 503 … — is the replica answering: passed on, never a
// fallback. A bucket some replica HOLDS is never taken over (503, as before): exactly one owner.
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
  // The owner is unreachable after this. Short, because the writer's request waits on it (on an
  // I/O thread) and, for a free bucket, it is what a hung or firewalled preferred replica costs
  // before this replica takes the bucket; replicas are on one network, where a connection takes
  // well under a millisecond. Not shorter: 2 s still survives one lost SYN (the kernel resends it
  // after 1 s).
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds request_timeout{30000};  // the whole exchange, fsync included
  size_t max_answer_bytes = 1u << 20;                // an ingest answer is a small JSON object
  size_t idle_connections_per_owner = 4;             // kept-alive connections reused for forwards
  // How long a free bucket's replica whose forward got no answer is passed over (see above): long
  // enough that its other buckets' new runs do not each pay a connect timeout, short enough that
  // a replica back up soon gets its buckets back (the release pass hands them over once settled).
  std::chrono::milliseconds remember_unreachable{30000};
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
  // Forwards that got no answer from the replica they went to (tests count connection attempts).
  uint64_t unanswered() const { return unanswered_; }

  class Connection;

 private:
  // The replica's answer, or nullopt with `failure` set when it gave none (no connection, an
  // unusable address, no answer in time).
  std::optional<Response> Forward(const Request& req, const service::RunOwner& owner, std::string& failure) const;
  std::unique_ptr<Connection> TakeIdle(const std::string& url) const;
  void GiveBack(const std::string& url, std::unique_ptr<Connection> conn) const;

  std::shared_ptr<service::RunOwnership> ownership_;
  const IngestForwardingOptions options_;
  mutable std::atomic<size_t> in_flight_{0};
  mutable std::atomic<uint64_t> forwarded_{0};
  mutable std::atomic<uint64_t> unanswered_{0};
  mutable std::mutex mu_;
  mutable std::vector<std::pair<std::string, std::unique_ptr<Connection>>> idle_;
};

}  // namespace runicorn::server
