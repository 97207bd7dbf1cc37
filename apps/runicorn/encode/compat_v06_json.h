// Response bodies of Runicorn v0.6's routes (docs/API.md "Runicorn v0.6 paths"): the path
// hierarchy, path exports, storage statistics and archive import; and the v0.6 fields every run
// list item carries. Shared by the HTTP handlers and any CLI --json output, like api_json.h.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "service/archive_service.h"
#include "service/path_service.h"

namespace runicorn::encode {

// Adds "path", "alias" and "assets_count" to a run list item (json::RunListItem) unless the
// item already has them. assets_count counts the artifact versions the run made and used (our
// assets; Runicorn v0.6 counts its assets.json entries).
void AddV06RunFields(const runtrack::RunSummary& run, boost::json::object& item);

// {"seg": {"child": {}}} over the paths.
boost::json::object PathTree(const std::vector<std::string>& paths);
// GET /api/paths: {"paths", "tree"[, "stats": {path: {total, running, finished, failed}}]}.
boost::json::object PathListing(const service::PathListing& listing, bool include_stats);
// GET /api/paths/runs: run list items, as GET /api/runs.
boost::json::array PathRuns(const std::vector<runtrack::RunSummary>& runs, const runtrack::StoreLayout& layout);
boost::json::object PathSoftDeleted(const std::string& path, const service::PathSoftDelete& result);
// GET /api/paths/export?format=json (also index.json of the zip).
boost::json::object PathExport(const service::PathSelection& selection, const std::vector<runtrack::RunDetail>& runs);
// "runicorn_export_<path, '/' -> '_'>.zip" ("root" for the root path).
std::string PathExportFileName(const std::string& path);
boost::json::object StorageStats(const service::StorageUsage& usage);
// Runicorn's size_human: "1.50 MB" (1024-based, two decimals).
std::string HumanSize(uint64_t bytes);
// POST /api/import/archive.
boost::json::object ArchiveImported(const service::ArchiveImportResult& result, const runtrack::StoreLayout& layout);

}  // namespace runicorn::encode
