// The ids real `runicorn viewer --replica-url` processes registered (table `replicas`), and run ids
// chosen so their bucket belongs to a given replica (rendezvous hashing,
// service/pg/pg_run_ownership.h): e2e tests that need "this run lands on replica i" pick the run.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "service/pg/pg_connection.h"
#include "service/pg/pg_run_ownership.h"

namespace runicorn::testing {

// url -> replica id of every registered replica.
inline std::map<std::string, std::string> ReplicaIdsByUrl(const std::string& db) {
  auto conn = service::pg::PgConnection::Connect(db);
  REQUIRE(conn.ok());
  auto rows = (*conn)->Exec("SELECT url, replica_id FROM replicas");
  REQUIRE(rows.ok());
  std::map<std::string, std::string> out;
  for (int r = 0; r < rows->rows(); ++r) out[std::string(rows->Get(r, 0))] = std::string(rows->Get(r, 1));
  return out;
}

// The first run id "<stamp>_<6 hex digits from `first`>" whose bucket belongs to `replica` among `ids`.
inline std::string RunIdBelongingTo(const std::string& stamp, uint32_t first, const std::string& replica,
                                    const std::vector<std::string>& ids) {
  for (uint32_t i = first;; ++i) {
    std::string id = fmt::format("{}_{:06x}", stamp, i & 0xffffffu);
    if (service::pg::PreferredReplica(service::pg::RunBucket(id), ids) == replica) return id;
  }
}

}  // namespace runicorn::testing
