// Runicorn v0.6's path hierarchy over our runs (GET /api/paths, /api/paths/tree, /api/paths/runs,
// POST /api/paths/soft-delete, GET /api/paths/export, GET /api/storage/stats; docs/API.md
// "Runicorn v0.6 paths").
//
// A run's path is what the v0.6 SDK stored with it; runs written without one (the v0.5 API, C++
// runs, imported v0.5 stores) get "project/name", as Runicorn's own migration of v0.5 folders
// does. Paths are compared as strings only: nothing here builds a file-system path from one.
//
// Thread safety: every method may run concurrently with any other (the catalog serialises).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/run_service.h"
#include "service/storage.h"

namespace runicorn::service {

// Runs under one path, counted by status; a path's counts include every path below it.
struct PathStats {
  uint64_t total = 0, running = 0, finished = 0, failed = 0;
};

struct PathListing {
  std::vector<std::string> paths;          // distinct run paths, sorted
  std::map<std::string, PathStats> stats;  // every run path and each of its ancestors
};

// A path selection: `path` itself ("" = the root) and, unless `exact`, every path below it on a
// segment boundary ("cv" selects "cv" and "cv/resnet", not "cvx").
struct PathSelection {
  std::string path;
  bool exact = false;
};

struct PathSoftDelete {
  uint64_t deleted = 0;
  std::vector<std::string> errors;  // "<run id>: <reason>" for runs that could not be deleted
};

// GET /api/storage/stats: bytes of regular files (symbolic links not followed).
struct StorageUsage {
  std::string root;
  uint64_t total_bytes = 0;
  uint64_t runs_bytes = 0, runs_files = 0;
  uint64_t artifacts_bytes = 0, artifacts_files = 0;  // artifacts/ (versions, manifests)
  uint64_t blobs_bytes = 0, blobs_files = 0;          // blobs/ (content-addressed chunks)
  uint64_t catalog_bytes = 0, catalog_files = 0;      // catalog/ (derived RocksDB index)
  uint64_t projects = 0, experiments = 0, runs = 0;   // distinct project, project/name, runs
};

class PathService {
 public:
  PathService(const RunCatalog& catalog, RunService& runs, const runtrack::StoreLayout& layout)
      : catalog_(catalog), runs_(runs), layout_(layout) {}

  // Runicorn's normalisation: '\' -> '/', repeated, leading and trailing '/' dropped ("" and "/"
  // are the root). InvalidArgument "Invalid path '...': ..." for a control character, a "." or
  // ".." segment or more than 200 characters. Unlike Runicorn, other characters ('.', spaces,
  // unicode) are allowed, because our project and run names may hold them.
  static runtrack::Result<std::string> NormalizePath(std::string_view raw);
  // The run's path (see the file comment).
  static std::string PathOf(const runtrack::RunSummary& run);
  // Every segment-boundary ancestor of `path` and the path itself: "a/b/c" -> a, a/b, a/b/c.
  static std::vector<std::string> Prefixes(const std::string& path);
  static bool Selects(const PathSelection& selection, const std::string& path);

  // Paths of runs that are not soft-deleted.
  runtrack::Result<PathListing> List() const;
  // Runs (not soft-deleted) under the selection, newest first, as GET /api/runs lists them.
  runtrack::Result<std::vector<runtrack::RunSummary>> Runs(const PathSelection& selection) const;
  // Soft-deletes every run under the selection. InvalidArgument for the root without `exact`
  // (that would be every run: use the recycle bin routes per run instead).
  runtrack::Result<PathSoftDelete> SoftDelete(const PathSelection& selection);
  // The selected runs with config and summary (GET /api/paths/export?format=json).
  runtrack::Result<std::vector<runtrack::RunDetail>> Export(const PathSelection& selection) const;
  runtrack::Result<StorageUsage> Storage() const;

 private:
  const RunCatalog& catalog_;
  RunService& runs_;  // soft deletes go through its id checks
  const runtrack::StoreLayout& layout_;
};

}  // namespace runicorn::service
