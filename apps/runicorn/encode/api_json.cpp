#include "encode/api_json.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "encode/compat_v06_json.h"
#include "runtrack/json_codec.h"

namespace runicorn::encode {
namespace bj = boost::json;
namespace json = runtrack::json;

bj::array RunList(const runtrack::RunPage& page, const runtrack::StoreLayout& layout) {
  bj::array out;
  out.reserve(page.runs.size());
  for (const auto& r : page.runs) {
    bj::object item = json::RunListItem(r, layout);
    AddV06RunFields(r, item);  // Runicorn v0.6's path, alias, assets_count (compat_v06_json.h)
    out.push_back(std::move(item));
  }
  return out;
}

bj::object RecycleBin(const runtrack::RunPage& page, const runtrack::StoreLayout& layout) {
  bj::array out;
  for (const auto& r : page.runs) out.push_back(json::DeletedRun(r, layout));
  return bj::object{{"deleted_runs", std::move(out)}};
}

bj::object BatchResult(const service::BatchOutcome& outcome, const char* count_field, const char* verb) {
  bj::object results;
  for (const auto& [id, status] : outcome.results)
    results[id] = status.ok() ? bj::object{{"success", true}}
                              : bj::object{{"success", false}, {"error", status.message()}};
  bj::object o{{count_field, outcome.succeeded}, {"results", std::move(results)}};
  if (verb != nullptr)
    o["message"] = fmt::format("{} {} of {} runs", verb, outcome.succeeded, outcome.results.size());
  return o;
}

bj::object EmptyRecycleBin(const service::PurgeOutcome& outcome) {
  bj::object failed;
  for (const auto& [id, why] : outcome.failed) failed[id] = why;
  return bj::object{{"permanently_deleted", outcome.deleted},
                    {"failed", std::move(failed)},
                    {"message", fmt::format("Permanently deleted {} runs", outcome.deleted)}};
}

bj::object Projects(const std::vector<std::string>& projects) { return bj::object{{"projects", json::Strings(projects)}}; }
bj::object Names(const std::vector<std::string>& names) { return bj::object{{"names", json::Strings(names)}}; }

namespace {

// CSV fields: metric names may contain commas or quotes.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string ExportCsvHeader(const service::MetricTable& first_page) {
  const auto& columns = first_page.rows.columns;
  std::string csv = "global_step,time";
  for (size_t i = 1; i < columns.size(); ++i) csv += "," + CsvField(columns[i]);
  csv += ",stage\n";
  return csv;
}

void AppendExportCsvRows(const service::MetricTable& page, std::string& csv) {
  const auto& rows = page.rows;
  for (size_t r = 0; r < rows.steps.size(); ++r) {
    fmt::format_to(std::back_inserter(csv), "{},{}", rows.steps[r], page.wall_time[r]);
    for (const auto& v : rows.values[r]) {
      csv += ',';
      // Non-finite values are written as nan / inf / -inf, which pandas and numpy read back.
      if (v) fmt::format_to(std::back_inserter(csv), "{}", *v);
    }
    csv += "," + CsvField(page.stage[r]) + "\n";
  }
}

bj::array ArtifactList(const std::vector<runtrack::ArtifactSummary>& list) {
  bj::array out;
  for (const auto& a : list) out.push_back(json::ArtifactSummary(a));
  return out;
}

bj::array ArtifactVersions(const std::vector<runtrack::ArtifactVersionInfo>& versions) {
  bj::array out;
  for (const auto& v : versions) out.push_back(json::ArtifactVersion(v));
  return out;
}

bj::object Lineage(const service::LineageView& view, int max_depth) {
  // Runicorn's ids: "name:vN" for versions, "run:<id>" for runs (the graph holds bare run ids).
  std::set<std::string> run_ids;
  auto node_id = [&](const std::string& id) { return run_ids.count(id) ? "run:" + id : id; };
  for (const auto& n : view.graph.nodes)
    if (n.node_type == "run") run_ids.insert(n.node_id);
  auto created_at = [&](const std::string& id) -> bj::value {
    auto it = view.version_created_at.find(id);
    return it == view.version_created_at.end() ? bj::value(nullptr) : json::Number(it->second);
  };
  bj::array nodes;
  for (const auto& n : view.graph.nodes) {
    bj::object meta;
    if (n.node_type == "artifact") {
      meta = bj::object{{"type", n.artifact_type}, {"size", n.size_bytes}, {"status", n.status},
                        {"created_at", created_at(n.node_id)}};
    } else {
      meta = bj::object{{"run_id", n.node_id}};
      if (auto run = view.runs.find(n.node_id); run != view.runs.end()) {
        meta["project"] = run->second.project;
        meta["name"] = run->second.name;
        meta["status"] = runtrack::RunStatusName(run->second.status);
      }
    }
    nodes.push_back(bj::object{{"node_type", n.node_type},
                               {"node_id", node_id(n.node_id)},
                               {"label", n.label},
                               {"depth", n.depth},
                               {"direction", n.direction},
                               {"metadata", std::move(meta)}});
  }
  bj::array edges;
  for (const auto& e : view.graph.edges) {
    // When the link was made: a "produces" edge when its version was published; a "uses" edge
    // when the using run started (we record no separate use time). Runicorn stamps the query time.
    bj::value when = nullptr;
    if (e.edge_type == "produces") {
      when = created_at(e.target);
    } else if (auto run = view.runs.find(e.target); run != view.runs.end()) {
      when = json::Number(run->second.created_at);
    }
    edges.push_back(bj::object{{"source", node_id(e.source)},
                               {"target", node_id(e.target)},
                               {"edge_type", e.edge_type},
                               {"created_at", std::move(when)}});
  }
  return bj::object{{"root_artifact", view.graph.root_artifact},
                    {"nodes", std::move(nodes)},
                    {"edges", std::move(edges)},
                    {"max_depth", max_depth}};
}

bj::object ArtifactDeleted(const service::VersionRef& ref, bool permanent) {
  return bj::object{{"success", true},
                    {"permanent", permanent},
                    {"message", fmt::format("{} {}:v{} locally", permanent ? "Permanently deleted" : "Soft deleted",
                                            ref.name, ref.version)}};
}

bj::object ArtifactRestored(const service::VersionRef& ref) {
  return bj::object{{"success", true}, {"message", fmt::format("Restored {}:v{}", ref.name, ref.version)}};
}

bj::object AliasSet(const std::string& name, const std::string& alias, int version,
                    const std::map<std::string, int>& aliases) {
  bj::object out;
  for (const auto& [a, v] : aliases) out[a] = v;
  return bj::object{{"success", true}, {"name", name}, {"alias", alias}, {"version", version}, {"aliases", std::move(out)}};
}

bj::object AliasRemoved(const std::string& name, const std::string& alias) {
  return bj::object{{"success", true}, {"name", name}, {"alias", alias}};
}

bj::object Config(const service::ConfigView& c) {
  return bj::object{{"user_root_dir", c.user_root_dir.empty() ? bj::value(nullptr) : bj::value(c.user_root_dir)},
                    {"storage", c.storage.string()},
                    {"config_file", c.config_file.string()},
                    {"version", c.version}};
}

bj::object UserRootSaved(const service::UserRootChange& change, const std::string& storage) {
  return bj::object{{"ok", true},
                    {"user_root_dir", change.user_root_dir},
                    {"storage", storage},
                    {"restart_required", change.restart_required},
                    {"message", "User root directory saved; it is used by the next "
                                "`runicorn viewer` started without --storage or RUNICORN_DIR"}};
}

}  // namespace runicorn::encode
