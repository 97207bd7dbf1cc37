// The JSON shape of every entity libruntrack returns, written down once. The HTTP API, the CLI's
// --json output and the Python package's dicts all encode through these functions, so a field is
// added or renamed in one place.
//
// Wire rules: NaN and +/-Inf become null (JSON has no spelling for them); optional values that are
// unset are null, and so are empty optional strings (exit_reason, best_metric_name, ...);
// user-supplied JSON (config, summary, metadata) is passed through with its non-finite numbers
// nulled. Field names follow Runicorn's v0.5 documents (docs/API.md).
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"

namespace runtrack::json {

boost::json::value Number(double v);  // null when not finite
boost::json::value Number(const std::optional<double>& v);
boost::json::value Sanitized(const boost::json::value& v);  // deep copy, non-finite -> null
boost::json::array Strings(const std::vector<std::string>& items);

// The one field list of a run summary: id, project, name, status, exit_reason, pid, hostname,
// run_dir, tags, best_metric_*, updated_at, ended_at, deleted_at, artifacts_*_count; plus `path`
// and `alias` (null when none) for a run created with a v0.6 path, `alias` alone for a run with
// only an alias. Callers add the creation time under the name their API uses.
void AddRunSummaryFields(const RunSummary& run, const StoreLayout& layout, boost::json::object& out);

// GET /api/runs item: the summary plus `created_time` (Runicorn v1's name).
boost::json::object RunListItem(const RunSummary& run, const StoreLayout& layout);
// GET /api/v2/experiments item, and the Python package's run dict: the summary plus `created_at`.
boost::json::object Experiment(const RunSummary& run, const StoreLayout& layout);
// GET /api/recycle-bin item.
boost::json::object DeletedRun(const RunSummary& run, const StoreLayout& layout);
// GET /api/runs/{id}.
boost::json::object RunDetail(const runtrack::RunDetail& detail, const StoreLayout& layout);
boost::json::object MetricInfo(const runtrack::MetricInfo& m);
boost::json::array ArtifactRefs(const std::vector<ArtifactRef>& refs);

boost::json::object ArtifactSummary(const runtrack::ArtifactSummary& a);
boost::json::object ArtifactVersion(const ArtifactVersionInfo& v);
boost::json::object ArtifactFiles(const ArtifactFileList& files);
boost::json::object ArtifactStats(const runtrack::ArtifactStats& s);
boost::json::object ArtifactAliases(const std::string& name, const std::map<std::string, int>& aliases);

}  // namespace runtrack::json
