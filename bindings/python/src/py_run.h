// The object behind runicorn._core.Run: one libruntrack Run and the Store that created it.
#pragma once

#include <memory>

#include <pybind11/pybind11.h>

#include "runtrack/run.h"
#include "runtrack/store.h"

namespace runicorn_py {

struct PyRun {
  std::unique_ptr<runtrack::Store> store;
  std::unique_ptr<runtrack::Run> run;
};

// Defines runicorn._core.Run (the Python package subclasses it).
void RegisterRun(pybind11::module_& m);

// Adds `shipping_status()` (shipping_binding.cpp).
void AddShippingStatus(pybind11::class_<PyRun>& cls);

// Adds the raw-CPython `log` method to the Run class (see run_log.cpp for why it is raw).
void InstallRunLog(pybind11::handle run_class);

// The PyRun inside a runicorn._core.Run instance (or subclass instance); nullptr with a Python
// error set when `self` is not one.
PyRun* RunFromSelf(PyObject* self);

}  // namespace runicorn_py
