// Which runicorn runs recorded a task's runs: the link between a task and its charts.
//
// A child that records through runicorn inside a task (`rn.init()`, or pyruns.record/track,
// which start a run on first use) appends one line to `<task>/task_metrics.jsonl`:
//   {"run":N,"kind":"runicorn_run","values":{"run_id":"…","project":"…","name":"…","storage":"…"}}
// FoldRunLinks collects those lines into task_info.json's `runicorn_runs`, an object keyed by
// the run number: {"2": [{"run_id": …, "project": …, "name": …, "storage": …}]}. An object, not
// one more per-run array, so Pyruns' run-history normalization never pads or truncates it, and
// Pyruns keeps it as an unknown key. Plain functions, no shared state.
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/json/object.hpp>

namespace runtrack::tasks {

inline constexpr std::string_view kRunLinkKind = "runicorn_run";
inline constexpr std::string_view kRunLinksKey = "runicorn_runs";

// Adds the links in the complete lines of `text` from byte `from` to `info` (call it with the
// same `from` as FoldMetricsLines, before that advances the offset). A run id already listed for
// that run is not repeated. Lines that do not parse, run numbers < 1, and ids that are not valid
// run ids (they come from the child process) are skipped; fields other than the four above are
// dropped, and non-string fields read as "".
void FoldRunLinks(std::string_view text, size_t from, boost::json::object& info);

}  // namespace runtrack::tasks
