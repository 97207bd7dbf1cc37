#include "service/llm_service_config.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <toml++/toml.h>
#include "runtrack/json_parse.h"

#include "service/text_file.h"

namespace runicorn::service {
namespace fs = std::filesystem;
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

Status Bad(const fs::path& file, const std::string& why) {
  return Status::InvalidArgument(fmt::format("LLM service config {}: {}", file.string(), why));
}

// A TOML value as the JSON value the same key would have in the JSON form, so one checker serves
// both. Dates and times have no JSON form and no key takes one: they become an empty object,
// which every key's type check refuses with its usual message.
json::value FromToml(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return json::value(std::string(*node.as_string()));
    case toml::node_type::integer: return json::value(static_cast<int64_t>(*node.as_integer()));
    case toml::node_type::floating_point: return json::value(static_cast<double>(*node.as_floating_point()));
    case toml::node_type::boolean: return json::value(static_cast<bool>(*node.as_boolean()));
    case toml::node_type::array: {
      json::array out;
      for (const toml::node& item : *node.as_array()) out.push_back(FromToml(item));
      return out;
    }
    case toml::node_type::table: {
      json::object out;
      for (const auto& [key, value] : *node.as_table()) out[std::string(key.str())] = FromToml(value);
      return out;
    }
    default: return json::object();
  }
}

// The document's top level as a JSON object, or InvalidArgument naming the file (and for TOML the
// line and column of the syntax error).
Result<json::object> ParseDocument(std::string_view text, const fs::path& file) {
  if (file.extension() == ".toml") {
    // toml++ reports syntax errors by exception; they end here.
    try {
      toml::table table = toml::parse(text, file.string());
      return std::move(FromToml(table).as_object());
    } catch (const toml::parse_error& e) {
      return Bad(file, fmt::format("TOML syntax error at line {}, column {}: {}", e.source().begin.line,
                                   e.source().begin.column, e.description()));
    }
  }
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(text, ec);
  if (ec || !v.is_object()) return Bad(file, "not a JSON object");
  return std::move(v.as_object());
}

struct IntKey {
  std::string_view name;
  int LlmServiceConfig::*field;
  int min, max;
};

constexpr IntKey kIntKeys[] = {
    {"generate_timeout_seconds", &LlmServiceConfig::generate_timeout_seconds, 1, 3600},
    {"workers", &LlmServiceConfig::workers, 1, 32},
    {"generate_concurrency", &LlmServiceConfig::generate_concurrency, 1, 32},
    {"generate_queue", &LlmServiceConfig::generate_queue, 0, 256},
};

}  // namespace

Result<LlmServiceConfig> ParseLlmServiceConfig(std::string_view text, const fs::path& file) {
  auto doc = ParseDocument(text, file);
  if (!doc.ok()) return doc.status();
  LlmServiceConfig c;
  std::error_code fec;
  c.dir = fs::absolute(file, fec).parent_path();
  for (const auto& [key, value] : *doc) {
    if (key == "trainer" || key == "generator") {
      if (!value.is_string()) return Bad(file, fmt::format("'{}' must be a string", std::string_view(key)));
      (key == "trainer" ? c.trainer : c.generator) = std::string(value.as_string());
      continue;
    }
    if (key == "quantization") {
      if (!value.is_array()) return Bad(file, "'quantization' must be an array of strings");
      for (const auto& q : value.as_array()) {
        if (!q.is_string() || (q.as_string() != "int8" && q.as_string() != "int4"))
          return Bad(file, "'quantization' may list only \"int8\" and \"int4\"");
        c.quantization.emplace_back(q.as_string());
      }
      continue;
    }
    bool known = false;
    for (const IntKey& k : kIntKeys) {
      if (key != k.name) continue;
      known = true;
      if (!value.is_int64() || value.as_int64() < k.min || value.as_int64() > k.max)
        return Bad(file, fmt::format("'{}' must be an integer in [{}, {}]", k.name, k.min, k.max));
      c.*k.field = static_cast<int>(value.as_int64());
    }
    if (!known) return Bad(file, fmt::format("unknown key '{}'", std::string_view(key)));
  }
  return c;
}

Result<LlmServiceConfig> LoadLlmServiceConfig(const fs::path& file) {
  auto text = ReadTextFile(file);
  if (!text.ok()) return Status::InvalidArgument(fmt::format("cannot read the LLM service config {}", file.string()));
  return ParseLlmServiceConfig(*text, file);
}

}  // namespace runicorn::service
