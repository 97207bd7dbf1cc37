// A typed config tree read from YAML with Pyruns' (PyYAML safe_load) scalar rules, written back
// as YAML through yaml-cpp, and shown the way Python's str() shows values (for `_meta_desc`).
// Plain values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtrack/status.h"

namespace runtrack::tasks {

struct ConfigValue {
  enum class Type { kNull, kBool, kInt, kFloat, kString, kList, kMap };
  Type type = Type::kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  std::vector<ConfigValue> list;
  std::vector<std::pair<std::string, ConfigValue>> map;  // document order

  static ConfigValue Null() { return {}; }
  static ConfigValue Bool(bool v) { ConfigValue c; c.type = Type::kBool; c.b = v; return c; }
  static ConfigValue Int(int64_t v) { ConfigValue c; c.type = Type::kInt; c.i = v; return c; }
  static ConfigValue Float(double v) { ConfigValue c; c.type = Type::kFloat; c.d = v; return c; }
  static ConfigValue String(std::string v) {
    ConfigValue c; c.type = Type::kString; c.s = std::move(v); return c;
  }
};

// Parses a YAML document. Plain scalars are typed like PyYAML's safe_load (YAML 1.1 bools such as
// yes/off, `~`/null, ints, floats including `5e-3`); quoted scalars are strings; `30:40:1` stays
// a string (Pyruns patches out sexagesimal ints). InvalidArgument on a syntax error.
Result<ConfigValue> ParseYamlConfig(std::string_view text);

// How PyYAML would type the plain (unquoted) scalar `text`.
ConfigValue TypePlainScalar(std::string_view text);

// Python's ast.literal_eval for one batch piece, then case-insensitive true/false, else the
// string itself (Pyruns' parse_value).
ConfigValue ParseBatchPiece(std::string_view piece);

// Python's str(): 3, 0.1, 1.0, 1e-05, True, None, abc, [1, 'a'], {'k': 1}.
std::string PythonStr(const ConfigValue& v);

// Block-style YAML text of `v` (a mapping at the top). Strings that would read back as another
// type are quoted; floats always carry a `.` so any YAML 1.1 reader keeps them floats.
// `replace(leaf)` may substitute a value for any node (used by batch expansion); null = keep.
class ConfigLeafOverrides {
 public:
  virtual ~ConfigLeafOverrides() = default;
  virtual const ConfigValue* Find(const ConfigValue* node) const = 0;
};
std::string EmitYamlConfig(const ConfigValue& v, const ConfigLeafOverrides* overrides = nullptr);

// One scalar (not a list or map) exactly as EmitYamlConfig writes it as a mapping value.
std::string EmitYamlScalar(const ConfigValue& v);

}  // namespace runtrack::tasks
