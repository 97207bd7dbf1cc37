#include "tasks/task_results.h"

#include <array>
#include <cstdint>
#include <string>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>

#include "runtrack/validation.h"
#include "runtrack/json_parse.h"
#include "tasks/task_info_store.h"

namespace runtrack::tasks {

namespace json = boost::json;

namespace {

// The link as stored: exactly these fields, each a string.
json::object LinkFrom(const json::object& values) {
  static constexpr std::array<std::string_view, 4> kFields = {"run_id", "project", "name", "storage"};
  json::object link;
  for (std::string_view field : kFields) link[field] = GetString(values, field);
  return link;
}

void AddLink(json::object& info, int64_t run, json::object link) {
  json::value& all = info[kRunLinksKey];
  if (!all.is_object()) all = json::object();
  json::value& slot = all.as_object()[std::to_string(run)];
  if (!slot.is_array()) slot = json::array();
  json::array& links = slot.as_array();
  for (const json::value& existing : links)
    if (existing.is_object() && GetString(existing.as_object(), "run_id") == GetString(link, "run_id")) return;
  links.push_back(std::move(link));
}

}  // namespace

void FoldRunLinks(std::string_view text, size_t from, json::object& info) {
  size_t pos = from;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) break;  // a line still being written
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    json::error_code ec;
    json::value v = runtrack::ParseJson(line, ec);
    if (ec || !v.is_object()) continue;
    const json::object& rec = v.as_object();
    if (GetString(rec, "kind") != kRunLinkKind) continue;
    int64_t run = static_cast<int64_t>(GetNumber(rec, "run", 0));
    auto values = rec.find("values");
    if (run < 1 || values == rec.end() || !values->value().is_object()) continue;
    json::object link = LinkFrom(values->value().as_object());
    if (!ValidateRunId(GetString(link, "run_id")).ok()) continue;
    AddLink(info, run, std::move(link));
  }
}

}  // namespace runtrack::tasks
