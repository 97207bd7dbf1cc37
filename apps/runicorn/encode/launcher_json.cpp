#include "encode/launcher_json.h"

#include <boost/json.hpp>

namespace runicorn::encode {
namespace json = boost::json;

namespace {

template <typename T>
json::value OrNull(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

json::object LauncherScripts(const std::vector<service::LauncherScript>& scripts) {
  json::array items;
  for (const auto& s : scripts)
    items.push_back(json::object{{"script_path", s.script_path},
                                 {"script_name", s.script_name},
                                 {"label", s.label},
                                 {"workspace_path", s.workspace_path},
                                 {"source", s.source}});
  return {{"items", std::move(items)}};
}

json::object LauncherConfigs(const service::LauncherConfigs& configs) {
  json::array items;
  for (const auto& c : configs.items)
    items.push_back(json::object{{"path", c.path}, {"label", c.label}, {"kind", c.kind}});
  return {{"items", std::move(items)},
          {"config_source", configs.config_source},
          {"requires_config_template", configs.requires_config_template}};
}

json::object LauncherWorkspaces(const std::vector<service::LauncherWorkspace>& workspaces) {
  json::array items;
  for (const auto& w : workspaces)
    items.push_back(json::object{{"workspace_path", w.workspace_path},
                                 {"script_path", w.script_path},
                                 {"script_name", w.script_name},
                                 {"config_path", w.config_path},
                                 {"config_name", w.config_name},
                                 {"exists", w.exists}});
  return {{"items", std::move(items)}};
}

json::object LauncherPathCheck(const service::LauncherPathCheck& c) {
  return {{"ok", c.ok},
          {"kind", c.kind},
          {"normalized_path", c.normalized_path},
          {"path_type", c.path_type},
          {"message", c.message}};
}

json::object TaskSystemMetrics(const service::TaskSystemMetrics& m) {
  json::array gpus;
  for (const auto& g : m.gpus) {
    json::array procs;
    for (const auto& p : g.processes)
      procs.push_back(json::object{{"pid", p.pid}, {"user", p.user}, {"name", p.name}, {"memory_mb", OrNull(p.memory_mb)}});
    gpus.push_back(json::object{{"id", g.index},
                                {"index", g.index},
                                {"name", g.name},
                                {"uuid", g.uuid},
                                {"util", OrNull(g.util)},
                                {"mem_used", OrNull(g.mem_used_mb)},
                                {"mem_total", OrNull(g.mem_total_mb)},
                                {"processes", std::move(procs)}});
  }
  return {{"cpu_percent", m.cpu_percent}, {"mem_percent", m.mem_percent}, {"gpus", std::move(gpus)}};
}

}  // namespace runicorn::encode
