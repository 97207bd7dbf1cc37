// Maps a runtrack::Status to one Python exception type per StatusCode (STYLE.md: "the Python
// layer maps it to one exception type per code"). Every type derives from runicorn.RunicornError
// and from the closest builtin, so `except ValueError` keeps working for bad arguments.
#pragma once

#include <pybind11/pybind11.h>

#include "runtrack/status.h"

namespace runicorn_py {

// Creates the exception types as attributes of `m`. Call once, from the module init.
void RegisterErrors(pybind11::module_& m);

// Sets the Python error for a non-ok `status` and returns nullptr (for raw CPython functions).
PyObject* SetError(const runtrack::Status& status);

// Throws pybind11::error_already_set carrying the mapped exception when `status` is not ok.
void ThrowIfError(const runtrack::Status& status);

template <typename T>
T ValueOrThrow(runtrack::Result<T>&& result) {
  ThrowIfError(result.status());
  return std::move(result).value();
}

}  // namespace runicorn_py
