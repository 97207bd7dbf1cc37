#include "errors.h"

#include <array>
#include <string>

namespace py = pybind11;

namespace runicorn_py {
namespace {

constexpr size_t kNumCodes = static_cast<size_t>(runtrack::StatusCode::kInternal) + 1;
// Owned by the module object (added as attributes), so borrowed pointers stay valid.
std::array<PyObject*, kNumCodes> g_types{};

PyObject* MakeType(py::module_& m, const char* name, PyObject* base, PyObject* builtin) {
  std::string qualified = std::string("runicorn._core.") + name;
  PyObject* bases = builtin ? PyTuple_Pack(2, base, builtin) : PyTuple_Pack(1, base);
  PyObject* type = PyErr_NewException(qualified.c_str(), bases, nullptr);
  Py_DECREF(bases);
  if (!type) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // steals nothing: add_object increfs
  Py_DECREF(type);
  return type;
}

}  // namespace

void RegisterErrors(py::module_& m) {
  PyObject* error_type = PyErr_NewException("runicorn._core.RunicornError", PyExc_Exception, nullptr);
  if (!error_type) throw py::error_already_set();
  m.add_object("RunicornError", py::handle(error_type));
  Py_DECREF(error_type);
  using C = runtrack::StatusCode;
  auto set = [&](C code, const char* name, PyObject* builtin) {
    g_types[static_cast<size_t>(code)] = MakeType(m, name, error_type, builtin);
  };
  set(C::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError);
  set(C::kNotFound, "NotFoundError", PyExc_LookupError);
  set(C::kAlreadyExists, "AlreadyExistsError", nullptr);
  set(C::kFailedPrecondition, "FailedPreconditionError", PyExc_RuntimeError);
  set(C::kIOError, "StorageIOError", PyExc_OSError);
  set(C::kCorruption, "CorruptionError", nullptr);
  set(C::kBusy, "BusyError", nullptr);
  set(C::kInternal, "InternalError", nullptr);
  g_types[static_cast<size_t>(C::kOk)] = error_type;
}

PyObject* SetError(const runtrack::Status& status) {
  auto index = static_cast<size_t>(status.code());
  PyObject* type = index < kNumCodes && g_types[index] ? g_types[index] : PyExc_RuntimeError;
  PyErr_SetString(type, status.message().c_str());
  return nullptr;
}

void ThrowIfError(const runtrack::Status& status) {
  if (status.ok()) return;
  SetError(status);
  throw py::error_already_set();
}

}  // namespace runicorn_py
