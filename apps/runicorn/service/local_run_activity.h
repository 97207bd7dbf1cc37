// The runs of this replica's store, seen by run ownership when it lets buckets go
// (service::LocalRunActivity, docs/SCALE-OUT.md "Rebalancing"): every run folder of the store, and
// whether a run still depends on this disk.
//
// A run is settled when it is not arriving any more (no `receiving` marker: the receiver removed
// it after the run's final record and its linger) and the team back end's RunSealing reports it
// sealed — every point it holds in a sealed series, in the bucket, and listed by the segment
// index under a `runs` row that is not running. Such a run is served by any replica from the
// bucket, so its bucket may move. Anything else (running, unsealed, unknown to the catalog yet, an
// error) is not settled.
//
// A settled answer is kept while the run's journal keeps its size and no marker appears, so a
// store of many old runs is asked about each once, not on every pass.
//
// Thread safety: one caller at a time (the release pass).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "runtrack/layout.h"
#include "service/run_ownership.h"
#include "service/run_sealing.h"

namespace runicorn::service {

class StoreRunActivity final : public LocalRunActivity {
 public:
  StoreRunActivity(runtrack::StoreLayout layout, std::shared_ptr<RunSealing> sealing)
      : layout_(std::move(layout)), sealing_(std::move(sealing)) {}

  runtrack::Result<std::vector<std::string>> Runs() override;
  runtrack::Result<bool> Settled(std::string_view run_id) override;

 private:
  runtrack::StoreLayout layout_;
  std::shared_ptr<RunSealing> sealing_;
  std::map<std::string, uint64_t, std::less<>> settled_;  // run -> journal size when found settled
};

}  // namespace runicorn::service
