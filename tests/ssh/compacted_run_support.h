// Set-up for the tests of carrying a compacted run into another store (runtrack/compacted_run.h,
// SSH pull sync): a "remote" store whose catalog seals the run and compacts its journal at once
// (journal_compaction_delay 0 instead of 10 minutes), and what a catalog shows of a run, doubles
// as bit patterns, so "the same run" is one string comparison.
#pragma once

#include <random>

#include <boost/json.hpp>

#include "catalog/sealed_support.h"
#include "runtrack/compacted_run.h"
#include "sshd_fixture.h"

namespace runicorn::testing {

namespace rt = runtrack::testing;

inline runtrack::CatalogOptions CompactAtOnce() {
  runtrack::CatalogOptions o;
  o.seal_finished_runs = false;  // SealFinishedRuns below, in the test's thread
  o.journal_compaction_delay = std::chrono::seconds(0);
  return o;
}

// Steps [from, to) of the run LogMixedRun writes with `total` steps (same series, same values
// when `rng` runs on from 0), so a run can be logged in two halves with a pull in between.
inline void LogMixedRange(runtrack::Run& run, int from, int to, int total, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 1);
  for (int i = from; i < to; ++i) {
    const double loss = static_cast<float>(2.0 * std::exp(-i / 3000.0) + 0.05 * noise(rng));
    const double special = rt::SpecialValues()[i % rt::SpecialValues().size()];
    std::vector<runtrack::MetricValue> values = {{"loss", loss}, {"noise", noise(rng)}, {"special", special}};
    REQUIRE(run.Log(values, i, i % 10 == 9 ? "val" : "train").ok());
    const int64_t back_step = (i % (total / 2)) / 2;
    REQUIRE(run.Log(back_step, "backwards", static_cast<double>(i)).ok());
  }
}

// Indexes `root`, seals its finished runs and compacts their journals; returns how many were
// compacted.
inline uint64_t CompactStore(const std::filesystem::path& root) {
  auto catalog = rt::OpenCatalogWith(root, CompactAtOnce());
  rt::Index(*catalog);
  auto report = catalog->SealFinishedRuns();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  INFO(report->last_error);
  REQUIRE(report->runs_failed == 0);
  return report->journals_compacted;
}

// A finished run of `points` steps in a new store at `root`, compacted there.
inline std::string WriteCompactedRun(const std::filesystem::path& root, int points) {
  std::string id;
  {
    auto store = rt::OpenStore(root);
    runtrack::RunOptions o;
    o.project = "p";
    o.name = "compacted";
    auto run = rt::NewRun(*store, o);
    std::mt19937_64 rng(1);
    LogMixedRange(*run, 0, points, points, rng);
    REQUIRE(run->Summary(boost::json::object{{"best", 0.25}}).ok());
    REQUIRE(run->LogText("done").ok());
    REQUIRE(run->Finish().ok());
    id = run->id();
  }
  REQUIRE(CompactStore(root) == 1);
  return id;
}

// The run as its compacted journal + the files that journal names, read from `root`.
inline runtrack::CompactedRunFiles ReadCompactedRun(const std::filesystem::path& root, const std::string& id) {
  const runtrack::StoreLayout layout(root);
  auto head = runtrack::ReadLocalCompactedHead(layout, id);
  INFO(head.status().ToString());
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  runtrack::CompactedRunFiles run;
  run.journal = ReadAll(layout.journal_path(id));
  for (const auto& f : (*head)->files) run.files.push_back({f.name, ReadAll(layout.segments_dir(id) / f.name)});
  return run;
}

// Every answer the catalog gives about the run's points (rt::Transcript) and its record. Taken
// from a reopened catalog, so both sides' run records come back from RocksDB (as after a restart).
inline std::string Answers(const std::filesystem::path& root, const std::string& id) {
  rt::Index(*rt::OpenCatalogWith(root, rt::SealingOff()));
  auto catalog = rt::OpenCatalogWith(root, rt::SealingOff());
  auto d = catalog->GetRun(id);
  INFO(d.status().ToString());
  REQUIRE(d.ok());
  const runtrack::RunSummary& r = d->run;
  std::string out = fmt::format("{} {} {} {:x} {:x} {:x} {} {} {} {}\n", runtrack::RunStatusName(r.status), r.exit_reason,
                                r.name, rt::Bits(r.created_at), rt::Bits(r.updated_at), rt::Bits(r.ended_at.value_or(-1)),
                                boost::json::serialize(d->summary), d->journal_corrupt, d->journal_skipped_bytes,
                                d->log_bytes);
  return out + rt::Transcript(*catalog, id);
}

}  // namespace runicorn::testing
