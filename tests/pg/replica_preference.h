// Which replica a run's bucket belongs to (rendezvous hashing, service/pg/pg_run_ownership.h), for
// tests that need "replica A takes the run": they pick A's id, or the run, to make it so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "pg/pg_test_support.h"
#include "service/pg/pg_run_ownership.h"

namespace runicorn::testing {

// `base`, or `base` followed by a number, such that `run_id`'s bucket prefers it over `others`.
inline std::string IdPreferredFor(std::string_view run_id, const std::string& base,
                                  const std::vector<std::string>& others) {
  for (int i = 0;; ++i) {
    std::string id = i == 0 ? base : fmt::format("{}{}", base, i);
    std::vector<std::string> all = others;
    all.push_back(id);
    if (service::pg::PreferredReplica(service::pg::RunBucket(run_id), all) == id) return id;
  }
}

// The first PgRunId(i), i >= `from`, whose bucket belongs to `replica` among `ids`; `from` moves past it.
inline std::string RunPreferring(const std::string& replica, const std::vector<std::string>& ids, int& from) {
  for (;; ++from) {
    std::string run = PgRunId(from);
    if (service::pg::PreferredReplica(service::pg::RunBucket(run), ids) == replica) {
      ++from;
      return run;
    }
  }
}

}  // namespace runicorn::testing
