// runicorn._core.Run: a thin adapter over runtrack::Store::CreateRun and runtrack::Run.
// Calls that may wait for the disk (flush, finish, artifacts) release the GIL.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "errors.h"
#include "json_convert.h"
#include "py_run.h"
#include "runtrack/artifacts.h"

namespace py = pybind11;

namespace runicorn_py {
namespace {

std::unique_ptr<PyRun> CreateRun(const std::string& root, const std::string& project,
                                 const std::string& name, const std::string& run_id,
                                 py::handle config, const std::vector<std::string>& tags,
                                 double flush_interval_s, std::optional<std::string> path,
                                 const std::string& alias, std::optional<bool> system_metrics) {
  runtrack::RunOptions options;
  options.system_metrics = system_metrics;  // None: $RUNICORN_SYSTEM_METRICS
  options.path = std::move(path);
  options.alias = alias;
  options.project = project;
  options.name = name;
  options.run_id = run_id;
  options.config = ToJsonObject(config, "config");
  options.tags = tags;
  if (flush_interval_s > 0) {
    options.flush.flush_interval = std::chrono::milliseconds(
        static_cast<int64_t>(flush_interval_s * 1000.0 + 0.5));
  }
  auto out = std::make_unique<PyRun>();
  {
    py::gil_scoped_release release;
    auto store = runtrack::Store::Open(root);
    if (!store.ok()) {
      py::gil_scoped_acquire acquire;
      ThrowIfError(store.status());
    }
    out->store = std::move(store).value();
    auto run = out->store->CreateRun(options);
    if (!run.ok()) {
      py::gil_scoped_acquire acquire;
      ThrowIfError(run.status());
    }
    out->run = std::move(run).value();
  }
  return out;
}

// Log-like calls after finish() are ignored with a warning, as in Runicorn.
void WarnOrThrow(const runtrack::Status& status, const char* what) {
  if (status.code() == runtrack::StatusCode::kFailedPrecondition) {
    std::string message = std::string("runicorn: run already finished, ") + what + "() ignored";
    if (PyErr_WarnEx(PyExc_RuntimeWarning, message.c_str(), 1) < 0) throw py::error_already_set();
    return;
  }
  ThrowIfError(status);
}

runtrack::Status WithoutGil(const std::function<runtrack::Status()>& fn) {
  py::gil_scoped_release release;
  return fn();
}

}  // namespace

PyRun* RunFromSelf(PyObject* self) {
  try {
    return py::handle(self).cast<PyRun*>();
  } catch (const py::cast_error&) {
    PyErr_SetString(PyExc_TypeError, "runicorn: expected a runicorn Run");
    return nullptr;
  }
}

void RegisterRun(py::module_& m) {
  py::class_<PyRun> cls(m, "Run", py::dynamic_attr());
  cls.def(py::init(&CreateRun), py::arg("root") = "", py::arg("project") = "default",
          py::arg("name") = "default", py::arg("run_id") = "", py::arg("config") = py::none(),
          py::arg("tags") = std::vector<std::string>{}, py::arg("flush_interval") = 0.0,
          py::arg("path") = py::none(), py::arg("alias") = "", py::arg("system_metrics") = py::none(),
          "Creates a run under <root>/runs (root '' = $RUNICORN_DIR or ./.runicorn).")
      .def_property_readonly("id", [](const PyRun& r) { return r.run->id(); })
      .def_property_readonly("project", [](const PyRun& r) { return r.run->project(); })
      .def_property_readonly("name", [](const PyRun& r) { return r.run->name(); })
      .def_property_readonly("dir", [](const PyRun& r) { return r.run->dir(); })
      .def_property_readonly("root", [](const PyRun& r) { return r.store->root(); })
      .def_property_readonly("path", [](const PyRun& r) { return r.run->path(); })
      .def_property_readonly("alias", [](const PyRun& r) { return r.run->alias(); })
      .def("log_metric",
           [](PyRun& r, int64_t step, std::string_view metric, double value) {
             WarnOrThrow(r.run->Log(step, metric, value), "log_metric");
           },
           py::arg("step"), py::arg("name"), py::arg("value"))
      .def("log_text",
           [](PyRun& r, std::string_view text) { WarnOrThrow(r.run->LogText(text), "log_text"); },
           py::arg("text"))
      .def("summary",
           [](PyRun& r, py::handle values) {
             WarnOrThrow(r.run->Summary(ToJsonObject(values, "summary")), "summary");
           },
           py::arg("values"))
      .def("set_primary_metric",
           [](PyRun& r, std::string_view metric, std::string_view mode) {
             runtrack::MetricMode parsed = ValueOrThrow(runtrack::ParseMetricMode(mode));
             WarnOrThrow(r.run->SetPrimaryMetric(metric, parsed), "set_primary_metric");
           },
           py::arg("name"), py::arg("mode") = "max")
      .def("record_artifact",
           [](PyRun& r, std::string_view relation, std::string_view name, std::string_view type,
              int version) { ThrowIfError(r.run->RecordArtifact(relation, name, type, version)); },
           py::arg("relation"), py::arg("name"), py::arg("type"), py::arg("version"))
      .def("log_artifact",
           [](PyRun& r, const runtrack::Artifact& artifact) {
             runtrack::Result<int> version = [&] {
               py::gil_scoped_release release;
               return r.run->LogArtifact(artifact);
             }();
             return ValueOrThrow(std::move(version));
           },
           py::arg("artifact"), "Stores the artifact as its next version; returns the version.")
      .def("use_artifact",
           [](PyRun& r, std::string_view spec) {
             runtrack::Result<runtrack::ArtifactHandle> handle = [&] {
               py::gil_scoped_release release;
               return r.run->UseArtifact(spec);
             }();
             return ValueOrThrow(std::move(handle));
           },
           py::arg("spec"))
      .def("flush", [](PyRun& r) { ThrowIfError(WithoutGil([&] { return r.run->Flush(); })); },
           "Writes everything logged so far to the journal and fsyncs it.")
      .def("finish",
           [](PyRun& r, std::string_view status) {
             runtrack::RunStatus parsed = ValueOrThrow(runtrack::ParseRunStatus(status));
             ThrowIfError(WithoutGil([&] { return r.run->Finish(parsed); }));
           },
           py::arg("status") = "finished")
      .def("background_error",
           [](const PyRun& r) {
             runtrack::Status s = r.run->background_error();
             return s.ok() ? std::string() : s.ToString();
           });
  AddShippingStatus(cls);
  InstallRunLog(cls);
}

}  // namespace runicorn_py
