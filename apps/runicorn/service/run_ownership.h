// Which viewer replica appends a live run's ingest (docs/SCALE-OUT.md "Replicas").
//
// When several `runicorn viewer` replicas share one catalog, each live run has exactly one owner:
// the only replica that appends to the run's journal on its disk. The others forward the run's
// ingest to the owner. The implementation on PostgreSQL (service/pg/pg_run_ownership.h) holds one
// advisory lock per owned run; a replica that dies loses its locks with its connection.
//
// Thread safety: implementations are called by any number of handler threads at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::service {

struct RunOwner {
  bool here = false;       // this replica owns the run (it just took it or held it): append locally
  std::string replica_id;  // the owner's id (this replica's when `here`)
  std::string url;         // the owner's --replica-url, where its ingest is forwarded to
};

class RunOwnership {
 public:
  virtual ~RunOwnership() = default;

  // Takes `run_id` when no replica owns it, and answers who owns it. Busy when ownership cannot be
  // decided now (the catalog is unreachable, or the owner registered no URL): the caller answers
  // 503 and the writer retries; it never appends without owning the run.
  virtual runtrack::Result<RunOwner> Claim(std::string_view run_id) = 0;

  // Who owns `run_id` now, WITHOUT taking it (reads of a live run, server/read_forwarding.h):
  // nullopt when no replica does (no ingest reached one yet, or its owner died). With
  // `allow_cached` the answer may be up to 1 s old (kept per bucket, so a chart's requests cost no
  // PostgreSQL round trip each); without, it is looked up now. Busy when it cannot be told.
  virtual runtrack::Result<std::optional<RunOwner>> Find(std::string_view run_id, bool allow_cached) = 0;

  // This replica's id, as other replicas see it.
  virtual const std::string& replica_id() const = 0;
};

}  // namespace runicorn::service
