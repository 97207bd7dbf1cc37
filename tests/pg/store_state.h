// The local store as a bucket release pass sees it (service::LocalRunActivity): the runs on "disk"
// and which of them are settled (ended, sealed, in the bucket and the index). The real one is
// service/local_run_activity.h, tested end to end in tests/s3/replica_rebalance_test.cpp; this one
// lets a test say exactly which runs are settled (replica_ownership_test.cpp,
// ingest_forwarding_test.cpp).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "service/run_ownership.h"

namespace runicorn::testing {

class StoreState : public runicorn::service::LocalRunActivity {
 public:
  runtrack::Result<std::vector<std::string>> Runs() override { return std::vector<std::string>(runs.begin(), runs.end()); }
  runtrack::Result<bool> Settled(std::string_view run_id) override {
    ++asked;
    if (failing.count(std::string(run_id))) return runtrack::Status::IOError("cannot read the run");
    return settled.count(std::string(run_id)) > 0;
  }
  std::set<std::string> runs, settled, failing;
  int asked = 0;
};

}  // namespace runicorn::testing
