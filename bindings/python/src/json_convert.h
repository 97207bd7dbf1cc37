// Python objects <-> boost::json values, for config, summary and artifact metadata.
//
// To JSON: dict (keys turned into str), list/tuple, str, bool, int, float, None, and anything with .item() (numpy/torch scalars) or .tolist() (arrays);
// pathlib paths become strings. Anything else is a TypeError that names the offending key path.
// NaN and +-Inf become null: JSON cannot spell them, and a record carrying them would be rejected
// by the journal's reader together with every other value of the same call.
#pragma once

#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <pybind11/pybind11.h>

namespace runicorn_py {

boost::json::value ToJson(pybind11::handle obj, const std::string& where);
// `obj` must be a mapping (or None for an empty object).
boost::json::object ToJsonObject(pybind11::handle obj, const std::string& what);

pybind11::object FromJson(const boost::json::value& value);
pybind11::dict FromJsonObject(const boost::json::object& object);

}  // namespace runicorn_py
