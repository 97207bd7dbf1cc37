// runicorn._core.Catalog: a small read-only view of the catalog, for tests and scripts that read a
// store back (runicorn.read_run). The catalog admits one process at a time, so training code
// (the writer side) never opens it; only the reader helpers do.
#include <optional>
#include <string>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "errors.h"
#include "json_convert.h"
#include "runtrack/catalog.h"
#include "runtrack/json_codec.h"
#include "runtrack/layout.h"

namespace py = pybind11;

namespace runicorn_py {
namespace {

// The run fields of the one codec (runtrack/json_codec.h) that the HTTP API uses as well.
py::dict SummaryToDict(const runtrack::RunSummary& s, const runtrack::StoreLayout& layout) {
  return FromJsonObject(runtrack::json::Experiment(s, layout));
}

py::list ArtifactRefs(const std::vector<runtrack::ArtifactRef>& refs) {
  py::list out;
  for (const auto& r : refs) out.append(py::make_tuple(r.name, r.type, r.version));
  return out;
}

py::dict DetailToDict(const runtrack::RunDetail& r, const runtrack::StoreLayout& layout) {
  py::dict d = SummaryToDict(r.run, layout);
  d["config"] = FromJsonObject(r.config);
  d["summary"] = FromJsonObject(r.summary);
  py::dict metrics;
  for (const auto& m : r.metrics) metrics[py::str(m.name)] = FromJsonObject(runtrack::json::MetricInfo(m));
  d["metrics"] = metrics;
  d["stages"] = r.stages;
  d["log_bytes"] = r.log_bytes;
  d["artifacts_created"] = ArtifactRefs(r.artifacts_created);
  d["artifacts_used"] = ArtifactRefs(r.artifacts_used);
  d["journal_corrupt"] = r.journal_corrupt;
  d["journal_corrupt_offset"] = r.journal_corrupt_offset ? py::cast(*r.journal_corrupt_offset) : py::none();
  d["journal_skipped_bytes"] = r.journal_skipped_bytes;
  return d;
}

}  // namespace

void RegisterCatalog(py::module_& m) {
  py::class_<runtrack::Catalog>(m, "Catalog")
      .def_static("open",
                  [](const std::filesystem::path& root) {
                    auto catalog = [&] {
                      py::gil_scoped_release release;
                      return runtrack::Catalog::Open(root);
                    }();
                    return ValueOrThrow(std::move(catalog));
                  },
                  py::arg("root"), "Opens <root>/catalog; BusyError if another process holds it.")
      .def("refresh",
           [](runtrack::Catalog& c) {
             auto report = [&] {
               py::gil_scoped_release release;
               return c.Refresh();
             }();
             runtrack::IndexReport r = ValueOrThrow(std::move(report));
             py::dict d;
             d["runs_discovered"] = r.runs_discovered;
             d["runs_updated"] = r.runs_updated;
             d["points_ingested"] = r.points_ingested;
             d["runs_marked_crashed"] = r.runs_marked_crashed;
             return d;
           })
      .def("list_runs",
           [](const runtrack::Catalog& c, const std::string& project) {
             runtrack::RunQuery query;
             query.project = project;
             runtrack::RunPage page = ValueOrThrow(c.ListRuns(query));
             py::list out;
             const runtrack::StoreLayout layout(c.root());
             for (const auto& s : page.runs) out.append(SummaryToDict(s, layout));
             return out;
           },
           py::arg("project") = "")
      .def("get_run",
           [](const runtrack::Catalog& c, std::string_view run_id) {
             return DetailToDict(ValueOrThrow(c.GetRun(run_id)), runtrack::StoreLayout(c.root()));
           },
           py::arg("run_id"))
      .def("read_metric",
           [](const runtrack::Catalog& c, std::string_view run_id, std::string_view metric) {
             runtrack::MetricSeries series = ValueOrThrow(c.ReadMetric(run_id, metric));
             py::list out;
             for (const auto& p : series.points) {
               const std::string& stage = p.stage < series.stages.size() ? series.stages[p.stage] : "";
               out.append(py::make_tuple(p.step, p.value, stage, p.wall_time));
             }
             return out;
           },
           py::arg("run_id"), py::arg("metric"),
           "[(step, value, stage, wall_time)] sorted by step, later duplicates winning.")
      .def("read_log",
           [](const runtrack::Catalog& c, std::string_view run_id) {
             return ValueOrThrow(c.ReadLog(run_id));
           },
           py::arg("run_id"));
}

}  // namespace runicorn_py
