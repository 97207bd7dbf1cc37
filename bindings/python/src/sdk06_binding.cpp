// The v0.6 SDK's storage calls (runicorn._core): the path rules and Run.record_asset. The Python
// package (runicorn/assets.py, runicorn/run.py) builds Runicorn's calls on these.
#include <string>

#include <pybind11/stl.h>

#include "errors.h"
#include "json_convert.h"
#include "py_run.h"
#include "runtrack/artifacts.h"
#include "runtrack/validation.h"

namespace py = pybind11;

namespace runicorn_py {

void RegisterSdk06(py::module_& m) {
  m.def("normalize_run_path",
        [](std::string_view path) { return ValueOrThrow(runtrack::NormalizeRunPath(path)); },
        py::arg("path"),
        "Runicorn v0.6's path rules: returns the normalised path; InvalidArgumentError "
        "(a ValueError) names the rule a bad path breaks.");
  auto run_class = py::reinterpret_borrow<py::object>(m.attr("Run"));
  // Defined on the Run class registered by RegisterRun, so it must run after it.
  py::setattr(run_class, "record_asset",
              py::cpp_function(
                  [](py::handle self, std::string_view section, py::handle entry) {
                    PyRun* run = RunFromSelf(self.ptr());
                    if (!run) throw py::error_already_set();
                    boost::json::object body = ToJsonObject(entry, "asset");
                    runtrack::Status s = [&] {
                      py::gil_scoped_release release;
                      return run->run->RecordAsset(section, body);
                    }();
                    ThrowIfError(s);
                  },
                  py::name("record_asset"), py::is_method(run_class), py::arg("section"),
                  py::arg("entry"),
                  "Records one entry of the run's assets.json (see runtrack::Run::RecordAsset)."));
  // A stored version's files without recording a use (use_artifact would add a lineage edge).
  py::setattr(run_class, "artifact_files",
              py::cpp_function(
                  [](py::handle self, std::string_view name, int version) {
                    PyRun* run = RunFromSelf(self.ptr());
                    if (!run) throw py::error_already_set();
                    runtrack::Result<runtrack::ArtifactFileList> files = [&] {
                      py::gil_scoped_release release;
                      auto store = run->store->artifacts();
                      if (!store.ok()) return runtrack::Result<runtrack::ArtifactFileList>(store.status());
                      return (*store)->ListFiles(name, version);
                    }();
                    py::list out;
                    for (const auto& f : ValueOrThrow(std::move(files)).files) {
                      py::dict d;
                      d["path"] = f.path;
                      d["size"] = f.size;
                      d["digest"] = f.digest;
                      out.append(d);
                    }
                    return out;
                  },
                  py::name("artifact_files"), py::is_method(run_class), py::arg("name"),
                  py::arg("version"), "[{path, size, digest}] of a stored artifact version."));
}

}  // namespace runicorn_py
