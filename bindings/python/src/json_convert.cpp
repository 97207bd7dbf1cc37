#include "json_convert.h"

#include <cmath>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace py = pybind11;
namespace json = boost::json;

namespace runicorn_py {
namespace {

constexpr int kMaxDepth = 64;

[[noreturn]] void Unsupported(py::handle obj, const std::string& where) {
  throw py::type_error("runicorn: value at '" + where + "' is not JSON-serialisable (type " +
                       std::string(py::str(py::type::handle_of(obj).attr("__name__"))) + ")");
}

std::string KeyOf(py::handle key) {
  if (PyUnicode_Check(key.ptr())) return key.cast<std::string>();
  return py::str(key).cast<std::string>();
}

json::value Convert(py::handle obj, const std::string& where, int depth) {
  if (depth > kMaxDepth) throw py::value_error("runicorn: value at '" + where + "' nests too deep");
  PyObject* p = obj.ptr();
  if (p == Py_None) return nullptr;
  if (PyBool_Check(p)) return p == Py_True;
  if (PyLong_Check(p)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(p, &overflow);
    if (!overflow) return static_cast<int64_t>(v);
    if (overflow > 0) {
      unsigned long long u = PyLong_AsUnsignedLongLong(p);
      if (!PyErr_Occurred()) return static_cast<uint64_t>(u);
      PyErr_Clear();
    }
    double d = PyLong_AsDouble(p);  // beyond 64 bits: keep the magnitude
    if (d == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return nullptr;  // beyond a double's range too
    }
    return d;
  }
  if (PyFloat_Check(p)) {
    double d = PyFloat_AS_DOUBLE(p);
    if (!std::isfinite(d)) return nullptr;  // JSON has no NaN/Inf; see the header
    return d;
  }
  if (PyUnicode_Check(p)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(p, &size);
    if (!data) throw py::error_already_set();
    return json::string(data, static_cast<size_t>(size));
  }
  if (PyDict_Check(p) || PyObject_HasAttrString(p, "keys")) {
    json::object out;
    py::dict items = PyDict_Check(p) ? py::reinterpret_borrow<py::dict>(obj)
                                      : py::dict(py::reinterpret_borrow<py::object>(obj));
    for (auto [k, v] : items) {
      std::string key = KeyOf(k);
      out[key] = Convert(v, where.empty() ? key : where + "." + key, depth + 1);
    }
    return out;
  }
  if (PyList_Check(p) || PyTuple_Check(p)) {
    json::array out;
    py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    size_t i = 0;
    for (py::handle item : seq) {
      out.push_back(Convert(item, where + "[" + std::to_string(i++) + "]", depth + 1));
    }
    return out;
  }
  if (PyBytes_Check(p) || PyByteArray_Check(p)) Unsupported(obj, where);
  if (py::hasattr(obj, "tolist")) return Convert(obj.attr("tolist")(), where, depth + 1);
  if (py::hasattr(obj, "item")) return Convert(obj.attr("item")(), where, depth + 1);
  if (py::hasattr(obj, "__fspath__")) return Convert(obj.attr("__fspath__")(), where, depth + 1);
  Unsupported(obj, where);
}

}  // namespace

json::value ToJson(py::handle obj, const std::string& where) { return Convert(obj, where, 0); }

json::object ToJsonObject(py::handle obj, const std::string& what) {
  if (obj.is_none()) return {};
  if (!PyDict_Check(obj.ptr()) && !py::hasattr(obj, "keys")) {
    throw py::type_error("runicorn: " + what + " must be a dict, not " +
                         std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
  }
  return Convert(obj, "", 0).as_object();
}

py::object FromJson(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return py::none();
    case json::kind::bool_: return py::bool_(value.get_bool());
    case json::kind::int64: return py::int_(value.get_int64());
    case json::kind::uint64: return py::int_(value.get_uint64());
    case json::kind::double_: return py::float_(value.get_double());
    case json::kind::string: {
      const json::string& s = value.get_string();
      return py::str(s.data(), s.size());
    }
    case json::kind::array: {
      py::list out;
      for (const json::value& item : value.get_array()) out.append(FromJson(item));
      return out;
    }
    case json::kind::object: return FromJsonObject(value.get_object());
  }
  return py::none();
}

py::dict FromJsonObject(const json::object& object) {
  py::dict out;
  for (const auto& [key, item] : object) out[py::str(key.data(), key.size())] = FromJson(item);
  return out;
}

}  // namespace runicorn_py
