#include "encode/task_json.h"

#include <boost/json.hpp>
#include "runtrack/json_parse.h"

namespace runicorn::encode {
namespace json = boost::json;

namespace {

json::array Skipped(const std::vector<std::pair<std::string, runtrack::Status>>& skipped) {
  json::array out;
  for (const auto& [name, status] : skipped) out.push_back(json::object{{"name", name}, {"detail", status.message()}});
  return out;
}

std::string_view KindName(runtrack::TaskKind k) { return k == runtrack::TaskKind::kShell ? "shell" : "python"; }

}  // namespace

json::object Workspace(const service::WorkspaceView& ws) {
  return {{"run_root", ws.run_root},       {"tasks_dir", ws.tasks_dir},       {"project_root", ws.project_root},
          {"script_path", ws.script_path}, {"script_name", ws.script_name}, {"workspace_kind", ws.workspace_kind},
          {"workspace_ready", ws.workspace_ready}};
}

json::object TaskSummary(const runtrack::TaskSummary& t) {
  json::object o{{"name", t.name},
                 {"status", runtrack::TaskStatusName(t.status)},
                 {"task_kind", KindName(t.kind)},
                 {"created_at", t.created_at},
                 {"pinned", t.pinned},
                 {"run_index", t.run_index},
                 {"queued_at", t.queued_at}};
  if (t.task_order >= 0) o["task_order"] = t.task_order;
  return o;
}

json::object TaskPage(const runtrack::TaskPage& page, size_t limit) {
  json::array items;
  for (const auto& t : page.items) items.push_back(TaskSummary(t));
  json::object counts;
  for (size_t k = 0; k < runtrack::kTaskStatusCount; ++k)
    counts[runtrack::TaskStatusName(static_cast<runtrack::TaskStatus>(k))] = page.status_counts[k];
  return {{"items", std::move(items)}, {"total", page.total},       {"offset", page.offset},
          {"limit", limit},            {"has_more", page.has_more}, {"status_counts", std::move(counts)}};
}

json::object TaskDetail(const service::TaskDetail& d) {
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(d.task_info_json, ec);
  json::object out = !ec && v.is_object() ? std::move(v.as_object()) : json::object{};
  out["name"] = d.summary.name;
  out["status"] = runtrack::TaskStatusName(d.summary.status);
  out["pinned"] = d.summary.pinned;
  out["run_index"] = d.summary.run_index;
  out["task_kind"] = KindName(d.summary.kind);
  out["dir"] = d.dir;
  out["config_text"] = d.config_text;
  return out;
}

json::object GeneratorPreview(const service::GeneratorPreview& p) {
  json::array items;
  for (const auto& i : p.items)
    items.push_back(json::object{{"index", i.index}, {"preview", i.preview}, {"config", i.config_yaml}});
  return {{"count", p.count}, {"items", std::move(items)}, {"task_kind", p.task_kind}};
}

json::object GeneratorResult(const service::GeneratorResult& r) {
  json::array items;
  for (const auto& n : r.names) items.push_back(json::object{{"name", n}});
  return {{"count", r.names.size()}, {"items", std::move(items)}, {"task_kind", r.task_kind}};
}

json::object RunReport(const service::RunTasksReport& r) {
  json::array items;
  for (const auto& n : r.queued) items.push_back(json::string(n));
  return {{"count", r.queued.size()}, {"items", std::move(items)}, {"skipped", Skipped(r.skipped)}};
}

json::object TrashReport(const service::TrashReport& r) {
  json::array deleted;
  for (const auto& n : r.deleted) deleted.push_back(json::string(n));
  return {{"count", r.deleted.size()}, {"deleted", std::move(deleted)}, {"skipped", Skipped(r.skipped)}};
}

json::object TaskLog(const std::string& task_name, const runtrack::TaskLogChunk& c) {
  json::array logs;
  for (const auto& l : c.available_logs) logs.push_back(json::string(l));
  return {{"task_name", task_name}, {"selected_log", c.selected_log}, {"available_logs", std::move(logs)},
          {"content", c.content},   {"offset", c.offset},             {"reset", c.reset},
          {"log_identity", c.log_identity}};
}

json::object ReorderResult(const std::vector<runtrack::TaskSummary>& tasks) {
  json::array items;
  for (const auto& t : tasks) items.push_back(TaskSummary(t));
  return {{"count", tasks.size()}, {"items", std::move(items)}};
}

json::object TaskLogMessage(const std::string& task_name, const service::TaskLogMessage& m) {
  return {{"type", m.reset ? "reset" : "chunk"}, {"task_name", task_name},   {"log_file_name", m.log_file_name},
          {"log_identity", m.log_identity},     {"content", m.content},     {"offset", m.offset}};
}

json::object TaskEventMessage(const service::TaskEventMessage& m) {
  json::object o{{"type", m.type}, {"revision", m.revision}};
  if (m.type != "changed") return o;
  json::array changes;
  for (const auto& c : m.changes) {
    json::object e{{"name", c.name}, {"event", c.event}};
    if (!c.old_name.empty()) e["old_name"] = c.old_name;
    changes.push_back(std::move(e));
  }
  o["changes"] = std::move(changes);
  if (m.truncated) o["truncated"] = true;
  return o;
}

}  // namespace runicorn::encode
