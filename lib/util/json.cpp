#include "util/json.h"

#include <cmath>

#include <boost/json/serialize.hpp>

namespace runtrack::util {
namespace {

bool HasNonFinite(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_: return !std::isfinite(v.get_double());
    case boost::json::kind::array:
      for (const auto& e : v.get_array())
        if (HasNonFinite(e)) return true;
      return false;
    case boost::json::kind::object:
      for (const auto& [k, e] : v.get_object())
        if (HasNonFinite(e)) return true;
      return false;
    default: return false;
  }
}

void ReplaceNonFinite(boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      if (!std::isfinite(v.get_double())) v = nullptr;
      break;
    case boost::json::kind::array:
      for (auto& e : v.get_array()) ReplaceNonFinite(e);
      break;
    case boost::json::kind::object:
      for (auto& [k, e] : v.get_object()) ReplaceNonFinite(e);
      break;
    default: break;
  }
}

}  // namespace

std::string SerializeJson(const boost::json::value& value) {
  if (!HasNonFinite(value)) return boost::json::serialize(value);  // the common case: no copy
  boost::json::value copy = value;
  ReplaceNonFinite(copy);
  return boost::json::serialize(copy);
}

}  // namespace runtrack::util
