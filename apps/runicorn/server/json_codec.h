// Every runtrack struct the API returns, as Boost.JSON, in one place.
//
// Wire rules: NaN and +/-Inf become null (JSON has no spelling for them); optional values that are
// unset are null; user-supplied JSON (config, summary, metadata) is passed through with its
// non-finite numbers nulled. Field names follow Runicorn's v0.5 documents (see docs/API.md).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/downsample.h"

namespace runicorn::server::json {

boost::json::value Number(double v);  // null when not finite
boost::json::value Number(const std::optional<double>& v);
boost::json::value Sanitized(const boost::json::value& v);  // deep copy, non-finite -> null
boost::json::array Strings(const std::vector<std::string>& items);

// GET /api/runs item (Runicorn's RunListItem plus our extra fields).
boost::json::object RunListItem(const runtrack::RunSummary& run, const std::filesystem::path& root);
// GET /api/v2/experiments item.
boost::json::object Experiment(const runtrack::RunSummary& run, const std::filesystem::path& root);
// GET /api/recycle-bin item.
boost::json::object DeletedRun(const runtrack::RunSummary& run, const std::filesystem::path& root);
// GET /api/runs/{id}.
boost::json::object RunDetail(const runtrack::RunDetail& detail, const std::filesystem::path& root);
boost::json::object MetricInfo(const runtrack::MetricInfo& m);

// {"columns": [x_column, metrics...], "rows": [{x_column: step, metric: value, ...}, ...]}.
// A metric with no chosen point at a row's step is left out of that row; a non-finite value is
// null. `stage_of_row` (optional) adds a "stage" column.
boost::json::object MetricRowsTable(const runtrack::MetricRows& rows, const std::string& x_column,
                                    const std::vector<std::string>* stage_of_row = nullptr);

boost::json::object ArtifactSummary(const runtrack::ArtifactSummary& a);
boost::json::object ArtifactVersion(const runtrack::ArtifactVersionInfo& v);
boost::json::object ArtifactFiles(const runtrack::ArtifactFileList& files);
boost::json::object ArtifactStats(const runtrack::ArtifactStats& s);

}  // namespace runicorn::server::json
