// runicorn._core: libruntrack for Python. Behaviour lives in the library; these files only adapt
// types and names (see bindings/python/README.md for the package on top).
#include <pybind11/pybind11.h>

#include "errors.h"
#include "py_run.h"

namespace runicorn_py {
void RegisterCatalog(pybind11::module_& m);
void RegisterArtifacts(pybind11::module_& m);
void RegisterSdk06(pybind11::module_& m);
}  // namespace runicorn_py

PYBIND11_MODULE(_core, m) {
  m.doc() = "libruntrack bindings behind the runicorn package";
  runicorn_py::RegisterErrors(m);
  runicorn_py::RegisterArtifacts(m);
  runicorn_py::RegisterRun(m);
  runicorn_py::RegisterSdk06(m);  // after RegisterRun: adds methods to Run
  runicorn_py::RegisterCatalog(m);
}
