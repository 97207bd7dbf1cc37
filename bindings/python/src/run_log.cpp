// Run.log(data=None, *, step=None, stage=None, **metrics): the hot path.
//
// Written against the raw CPython vectorcall protocol (METH_FASTCALL | METH_KEYWORDS) instead of
// pybind11's generic dispatcher, because per-call overhead is the point of this method: the dict
// is walked in place, names are passed to libruntrack as views into the Python strings' UTF-8
// buffers, and values are converted without building any intermediate Python object.
//
// Semantics follow Runicorn's Run.log:
//   * `data` and keyword metrics are merged, keywords winning on a clash;
//   * keys "step" and "global_step" inside the data are dropped (only the `step` argument steps);
//   * a "stage" key inside the data names the stage unless the `stage` argument is given;
//   * without `step` the run's counter is incremented (first automatic step is 1); with it the
//     counter is set to `step` (done by runtrack::Run::Log);
//   * after finish() the call is ignored with a RuntimeWarning, as Runicorn ignores it.
#include <cmath>
#include <optional>
#include <string_view>

#include <boost/container/small_vector.hpp>

#include "errors.h"
#include "metric_value.h"
#include "py_run.h"

namespace py = pybind11;

namespace runicorn_py {
namespace {

PyObject* g_str_step = nullptr;
PyObject* g_str_global_step = nullptr;
PyObject* g_str_stage = nullptr;
PyObject* g_str_data = nullptr;

bool Is(PyObject* name, PyObject* interned) {
  return name == interned || PyUnicode_Compare(name, interned) == 0;
}

using Values = boost::container::small_vector<runtrack::MetricValue, 16>;

bool Utf8(PyObject* s, std::string_view* out) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(s, &size);
  if (!data) return false;
  *out = std::string_view(data, static_cast<size_t>(size));
  return true;
}

// Adds one (key, value) pair; `payload_stage` receives a "stage" key's value.
bool AddPair(PyObject* key, PyObject* value, Values* values, PyObject** payload_stage) {
  if (!PyUnicode_Check(key)) {
    PyErr_Format(PyExc_TypeError, "runicorn: metric names must be str, not %s",
                 Py_TYPE(key)->tp_name);
    return false;
  }
  if (Is(key, g_str_step) || Is(key, g_str_global_step)) return true;
  if (Is(key, g_str_stage)) {
    *payload_stage = value;
    return true;
  }
  double v = 0;
  if (!MetricValueToDouble(key, value, &v)) return false;
  std::string_view name;
  if (!Utf8(key, &name)) return false;
  values->emplace_back(name, v);
  return true;
}

bool ParseStep(PyObject* obj, std::optional<int64_t>* step) {
  if (obj == nullptr || obj == Py_None) return true;
  if (PyFloat_Check(obj)) {  // Runicorn does int(step)
    double d = PyFloat_AS_DOUBLE(obj);
    if (!std::isfinite(d)) {
      PyErr_SetString(PyExc_ValueError, "runicorn: step must be finite");
      return false;
    }
    *step = static_cast<int64_t>(d);
    return true;
  }
  PyObject* index = PyNumber_Index(obj);  // int, bool, numpy integers
  if (!index) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "runicorn: step must be an integer, not %s", Py_TYPE(obj)->tp_name);
    return false;
  }
  long long s = PyLong_AsLongLong(index);
  Py_DECREF(index);
  if (s == -1 && PyErr_Occurred()) return false;
  *step = s;
  return true;
}

PyObject* RunLog(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyRun* run = RunFromSelf(self);
  if (!run) return nullptr;
  if (nargs > 1) {
    PyErr_Format(PyExc_TypeError, "log() takes at most 1 positional argument (%zd given)", nargs);
    return nullptr;
  }
  PyObject* data = nargs == 1 ? args[0] : nullptr;
  PyObject* step_obj = nullptr;
  PyObject* stage_obj = nullptr;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  Py_ssize_t metric_kwargs = 0;
  for (Py_ssize_t i = 0; i < nkw; ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    PyObject* value = args[nargs + i];
    if (Is(name, g_str_step)) {
      step_obj = value;
    } else if (Is(name, g_str_stage)) {
      stage_obj = value;
    } else if (Is(name, g_str_data)) {
      if (data) {
        PyErr_SetString(PyExc_TypeError, "log() got multiple values for argument 'data'");
        return nullptr;
      }
      data = value;
    } else {
      ++metric_kwargs;
    }
  }
  if (data == Py_None) data = nullptr;

  Values values;
  PyObject* payload_stage = nullptr;
  PyObject* merged = nullptr;  // owned; only for non-dict mappings
  if (data) {
    if (!PyDict_Check(data)) {
      merged = PyDict_New();
      if (!merged) return nullptr;
      if (PyDict_Merge(merged, data, 1) < 0) {
        Py_DECREF(merged);
        PyErr_Format(PyExc_TypeError, "runicorn: log() data must be a dict, not %s",
                     Py_TYPE(data)->tp_name);
        return nullptr;
      }
      data = merged;
    }
    Py_ssize_t pos = 0;
    PyObject* key;
    PyObject* value;
    while (PyDict_Next(data, &pos, &key, &value)) {
      if (metric_kwargs > 0 && PySequence_Contains(kwnames, key) == 1) continue;  // keyword wins
      if (!AddPair(key, value, &values, &payload_stage)) {
        Py_XDECREF(merged);
        return nullptr;
      }
    }
  }
  for (Py_ssize_t i = 0; i < nkw && metric_kwargs > 0; ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (Is(name, g_str_step) || Is(name, g_str_stage) || Is(name, g_str_data)) continue;
    if (!AddPair(name, args[nargs + i], &values, &payload_stage)) {
      Py_XDECREF(merged);
      return nullptr;
    }
  }

  std::optional<int64_t> step;
  if (!ParseStep(step_obj, &step)) {
    Py_XDECREF(merged);
    return nullptr;
  }
  PyObject* stage_src = stage_obj && stage_obj != Py_None ? stage_obj : payload_stage;
  PyObject* stage_str = nullptr;  // owned
  std::string_view stage;
  if (stage_src && stage_src != Py_None) {
    stage_str = PyObject_Str(stage_src);
    if (!stage_str || !Utf8(stage_str, &stage)) {
      Py_XDECREF(stage_str);
      Py_XDECREF(merged);
      return nullptr;
    }
  }

  runtrack::Status status = run->run->Log(
      std::span<const runtrack::MetricValue>(values.data(), values.size()), step, stage);
  Py_XDECREF(stage_str);
  Py_XDECREF(merged);
  if (!status.ok()) {
    if (status.code() == runtrack::StatusCode::kFailedPrecondition) {
      if (PyErr_WarnEx(PyExc_RuntimeWarning, "runicorn: run already finished, log() ignored", 1) < 0)
        return nullptr;
      Py_RETURN_NONE;
    }
    return SetError(status);
  }
  Py_RETURN_NONE;
}

PyMethodDef g_log_def = {
    "log", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&RunLog)),
    METH_FASTCALL | METH_KEYWORDS,
    "log(data=None, *, step=None, stage=None, **metrics)\n\n"
    "Logs scalar metrics at one step (Runicorn's rule: without step the counter advances, first\n"
    "automatic step 1; with step the counter is set). Values: int, float, bool, numpy scalars,\n"
    "0-d arrays, scalar tensors. Any other value raises TypeError naming the metric."};

}  // namespace

void InstallRunLog(py::handle run_class) {
  g_str_step = PyUnicode_InternFromString("step");
  g_str_global_step = PyUnicode_InternFromString("global_step");
  g_str_stage = PyUnicode_InternFromString("stage");
  g_str_data = PyUnicode_InternFromString("data");
  PyObject* descr = PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(run_class.ptr()), &g_log_def);
  if (!descr) throw py::error_already_set();
  int rc = PyObject_SetAttrString(run_class.ptr(), "log", descr);
  Py_DECREF(descr);
  if (rc < 0) throw py::error_already_set();
}

}  // namespace runicorn_py
