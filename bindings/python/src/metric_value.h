// Turns one logged Python value into the double libruntrack stores.
//
// Accepted: bool, int, float (exact types on the fast path, subclasses such as numpy.float64 too),
// then objects with .item() that are scalars (numpy scalars, 0-d numpy arrays, one-element torch
// tensors with ndim 0), then other real numbers (anything with __float__ / __index__, e.g.
// Decimal, Fraction). Neither numpy nor torch is imported. Strings, None, containers and arrays
// with ndim > 0 are a TypeError naming the metric.
#pragma once

#include <Python.h>

namespace runicorn_py {

// On failure sets a Python TypeError mentioning `key` and returns false.
bool MetricValueToDouble(PyObject* key, PyObject* value, double* out);

}  // namespace runicorn_py
