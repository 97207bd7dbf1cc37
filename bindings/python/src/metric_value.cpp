#include "metric_value.h"

namespace runicorn_py {
namespace {

bool Reject(PyObject* key, PyObject* value) {
  PyErr_Format(PyExc_TypeError,
               "runicorn: metric '%U' has unsupported value of type %s; expected a number "
               "(int, float, bool, a numpy scalar, a 0-d array or a scalar tensor)",
               key, Py_TYPE(value)->tp_name);
  return false;
}

// Converts via .item(), refusing arrays/tensors with ndim > 0.
bool FromItem(PyObject* key, PyObject* value, PyObject* item_method, double* out) {
  PyObject* ndim = PyObject_GetAttrString(value, "ndim");
  if (ndim) {
    long n = PyLong_Check(ndim) ? PyLong_AsLong(ndim) : 0;
    Py_DECREF(ndim);
    if (n > 0) {
      Py_DECREF(item_method);
      return Reject(key, value);
    }
  } else {
    PyErr_Clear();
  }
  PyObject* item = PyObject_CallNoArgs(item_method);
  Py_DECREF(item_method);
  if (!item) {
    PyErr_Clear();
    return Reject(key, value);
  }
  bool ok = false;
  if (PyFloat_Check(item) || PyLong_Check(item)) {
    *out = PyFloat_Check(item) ? PyFloat_AS_DOUBLE(item) : PyLong_AsDouble(item);
    ok = !(*out == -1.0 && PyErr_Occurred());
    if (!ok) {
      PyErr_Clear();
      PyErr_Format(PyExc_OverflowError, "runicorn: metric '%U' is too large for a double", key);
    }
  } else {
    Reject(key, value);
  }
  Py_DECREF(item);
  return ok;
}

}  // namespace

bool MetricValueToDouble(PyObject* key, PyObject* value, double* out) {
  // Fast paths first: these are what training loops log.
  if (PyFloat_CheckExact(value)) {
    *out = PyFloat_AS_DOUBLE(value);
    return true;
  }
  if (PyLong_Check(value)) {  // bool included
    *out = PyLong_AsDouble(value);
    if (*out == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      PyErr_Format(PyExc_OverflowError, "runicorn: metric '%U' is too large for a double", key);
      return false;
    }
    return true;
  }
  if (PyFloat_Check(value)) {  // numpy.float64 and other float subclasses
    *out = PyFloat_AS_DOUBLE(value);
    return true;
  }
  if (PyUnicode_Check(value) || PyBytes_Check(value) || value == Py_None) return Reject(key, value);
  PyObject* item_method = PyObject_GetAttrString(value, "item");
  if (item_method) return FromItem(key, value, item_method, out);
  PyErr_Clear();
  PyNumberMethods* nb = Py_TYPE(value)->tp_as_number;
  if (nb && (nb->nb_float || nb->nb_index)) {
    *out = PyFloat_AsDouble(value);
    if (*out == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return Reject(key, value);
    }
    return true;
  }
  return Reject(key, value);
}

}  // namespace runicorn_py
