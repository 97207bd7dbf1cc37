// The read-back checks `runicorn migrate` runs after a copy, in either direction (--to: the
// store is the source and PostgreSQL the copy; --from: the other way round). Each difference is
// named; at most Verification::kMaxProblems are kept for the report.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "service/storage.h"

namespace runicorn::viewer {

// The listing row of a run, one line, so two back ends compare field by field (the artifact
// counts excepted: PostgreSQL keeps them, the embedded catalog counts journal records).
std::string ListingRow(const runtrack::RunSummary& r);

struct Verification {
  static constexpr size_t kMaxProblems = 20;
  uint64_t runs = 0, versions = 0, chunks = 0, segment_objects = 0, bytes_compared = 0;
  uint64_t mismatches = 0;
  std::vector<std::string> problems;

  void Mismatch(std::string what) {
    ++mismatches;
    if (problems.size() < kMaxProblems) problems.push_back(std::move(what));
  }
};

// Names the two sides in messages: "PostgreSQL has …, the store …".
struct SideNames {
  std::string source = "the store";
  std::string copy = "PostgreSQL";
};

// Every run of `source` (deleted ones included) that `include` accepts is in `copy` with the same
// listing row, config and summary (compared as JSON values: JSONB keeps values, not key order).
runtrack::Status VerifyRuns(const service::RunCatalog& source, const service::RunCatalog& copy, const SideNames& sides,
                            const std::function<bool(const runtrack::RunSummary&)>& include, Verification* v);
// Every artifact name of `source` has the same versions in `copy` (status, sizes, manifest
// digest, aliases), and every ready version the same file list.
runtrack::Status VerifyArtifacts(service::ArtifactRepository& source, service::ArtifactRepository& copy,
                                 const SideNames& sides, Verification* v);

}  // namespace runicorn::viewer
