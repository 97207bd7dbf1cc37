#include "service/task_service.h"

#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kPyrunsDir = "_pyruns_";
constexpr const char* kActiveFile = ".active_workspace";
constexpr const char* kShellWorkspace = "_shell_";
constexpr uintmax_t kMaxConfigBytes = 4u << 20;

Result<std::string> ReadSmallFile(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::NotFound(fmt::format("{} cannot be read", path.filename().string()));
  if (size > kMaxConfigBytes) return Status::FailedPrecondition(fmt::format("{} is larger than 4 MiB", path.filename().string()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{} cannot be read", path.filename().string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// True when `p` (already weakly canonical) is `base` or below it.
bool IsWithin(const fs::path& p, const fs::path& base) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

WorkspaceView ViewOf(const runtrack::Workspace& ws) {
  WorkspaceView v;
  v.run_root = ws.dir().string();
  v.tasks_dir = (ws.dir() / "tasks").string();
  v.project_root = ws.project_root().string();
  v.script_path = ws.script_path().string();
  v.script_name = ws.kind() == runtrack::WorkspaceKind::kShell ? kShellWorkspace : ws.dir().filename().string();
  v.workspace_kind = ws.kind() == runtrack::WorkspaceKind::kShell ? "shell" : "script";
  std::error_code ec;
  v.workspace_ready = fs::is_directory(ws.dir() / "tasks", ec);
  return v;
}

std::string JsonString(const boost::json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

// A JSON value as one CSV field's text: numbers compact, null empty, strings as they are.
std::string CellText(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: return {};
    case boost::json::kind::string: return std::string(v.as_string());
    case boost::json::kind::bool_: return v.as_bool() ? "true" : "false";
    case boost::json::kind::int64: return std::to_string(v.as_int64());
    case boost::json::kind::uint64: return std::to_string(v.as_uint64());
    case boost::json::kind::double_: return fmt::format("{}", v.as_double());
    default: return boost::json::serialize(v);
  }
}

// RFC 4180 quoting; a text cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) is
// prefixed with `'` as Pyruns does, so an exported notes or record value cannot run a formula.
std::string CsvField(std::string text, bool from_string) {
  if (from_string && !text.empty() && std::string_view("=+-@\t\r").find(text[0]) != std::string_view::npos)
    text.insert(text.begin(), '\'');
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

const boost::json::value* At(const boost::json::object& info, std::string_view key, size_t i) {
  const auto* a = info.if_contains(key);
  if (a == nullptr || !a->is_array() || i >= a->as_array().size()) return nullptr;
  return &a->as_array()[i];
}

}  // namespace

TaskService::TaskService(TaskServiceOptions options) : options_(std::move(options)) {
  std::error_code ec;
  auto abs = fs::weakly_canonical(fs::absolute(options_.project_root, ec), ec);
  if (!ec) options_.project_root = abs;
}

TaskService::~TaskService() {
  std::lock_guard lock(mu_);
  runner_.reset();  // before the workspace it runs
  workspace_.reset();
}

Status TaskService::CheckName(const std::string& name) const { return runtrack::CheckTaskName(name); }

Result<WorkspaceView> TaskService::Activate(std::unique_ptr<runtrack::Workspace> ws) {
  std::lock_guard lock(mu_);
  // Re-opening the current workspace keeps its object: the runner refers to it, and open
  // streams (task_follow.h) would otherwise see a workspace switch.
  const bool same = workspace_ && workspace_->dir() == ws->dir();
  if (runner_ && workspace_ && !same) {
    // Switching while this process runs tasks would orphan them; an idle runner just stops.
    if (!runner_->WaitIdle(std::chrono::milliseconds(0)).ok())
      return Status::FailedPrecondition(fmt::format(
          "tasks of workspace {} are running in this process; wait for them or cancel them before switching",
          workspace_->dir().filename().string()));
    runner_.reset();
  }
  if (!same) workspace_ = std::move(ws);
  // Each replica takes tasks of its current workspace from the shared queue.
  if (options_.shared_queue) RUNTRACK_RETURN_IF_ERROR(EnsureRunnerLocked(options_.shared_workers));
  // Remembered for the next command, as Pyruns' .active_workspace; losing it only loses a default.
  std::ofstream(options_.project_root / kPyrunsDir / kActiveFile, std::ios::trunc) << workspace_->dir().filename().string();
  return ViewOf(*workspace_);
}

Result<std::shared_ptr<runtrack::Workspace>> TaskService::CurrentWorkspace() {
  {
    std::lock_guard lock(mu_);
    if (workspace_) return workspace_;
  }
  const fs::path base = options_.project_root / kPyrunsDir;
  std::string chosen;
  std::error_code ec;
  if (auto active = ReadSmallFile(base / kActiveFile); active.ok()) {
    std::string name = *active;
    while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
    if (CheckName(name).ok() && fs::is_directory(base / name, ec)) chosen = name;
  }
  if (chosen.empty()) {
    std::vector<std::string> found;
    for (fs::directory_iterator it(base, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_directory(ec) && it->path().filename().string()[0] != '.') found.push_back(it->path().filename().string());
    if (found.size() == 1) chosen = found[0];
  }
  std::unique_ptr<runtrack::Workspace> ws;
  if (chosen.empty()) {
    RUNTRACK_ASSIGN_OR_RETURN(ws, runtrack::Workspace::OpenShell(options_.project_root));
  } else {
    RUNTRACK_ASSIGN_OR_RETURN(ws, runtrack::Workspace::Open(base / chosen));
  }
  std::lock_guard lock(mu_);
  if (!workspace_) workspace_ = std::move(ws);
  return workspace_;
}

Result<WorkspaceView> TaskService::Current() {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ViewOf(*ws);
}

Result<WorkspaceView> TaskService::InitScript(const fs::path& script, const std::string& config_text) {
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(script, ec), ec);
  if (ec || !fs::is_regular_file(abs, ec))
    return Status::NotFound(fmt::format("script {} is not a file", script.string()));
  if (abs.extension() != ".py") return Status::InvalidArgument(fmt::format("script {} is not a .py file", script.string()));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, runtrack::Workspace::OpenScript(options_.project_root, abs, config_text));
  return Activate(std::move(ws));
}

Result<WorkspaceView> TaskService::InitShell() {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, runtrack::Workspace::OpenShell(options_.project_root));
  return Activate(std::move(ws));
}

Result<WorkspaceView> TaskService::UseWorkspace(const std::string& name_or_path) {
  const fs::path base = options_.project_root / kPyrunsDir;
  if (name_or_path.empty()) return Status::InvalidArgument("workspace path is empty");
  std::error_code ec;
  fs::path dir = name_or_path.find('/') == std::string::npos ? base / name_or_path : fs::path(name_or_path);
  dir = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  // Only workspaces of the served project: a request cannot point the runner at another folder.
  if (ec || !IsWithin(dir, fs::weakly_canonical(base, ec)) || dir.parent_path() != fs::weakly_canonical(base, ec))
    return Status::InvalidArgument(fmt::format("workspace {} is not a workspace folder directly under {}",
                                               name_or_path, base.string()));
  if (!fs::is_directory(dir, ec)) return Status::NotFound(fmt::format("workspace {} does not exist", name_or_path));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, runtrack::Workspace::Open(dir));
  return Activate(std::move(ws));
}

Result<GeneratorPreview> TaskService::Preview(const GeneratorRequest& r) {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  GeneratorPreview out;
  if (ws->kind() == runtrack::WorkspaceKind::kShell) {
    if (!r.mode.empty() && r.mode != "shell")
      return Status::InvalidArgument(fmt::format("mode '{}' is not available in the shell workspace; use 'shell'", r.mode));
    if (r.shell_text.find_first_not_of(" \t\r\n") == std::string::npos)
      return Status::InvalidArgument("a shell task needs a command");
    out.task_kind = "shell";
    out.count = 1;
    out.items.push_back({0, "", r.shell_text});
    return out;
  }
  if (!r.mode.empty() && r.mode != "form" && r.mode != "yaml")
    return Status::InvalidArgument(fmt::format("mode must be 'form' or 'yaml' in a script workspace, not '{}'", r.mode));
  std::string text = r.yaml_text;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    auto def = ReadSmallFile(ws->dir() / "config_default.yaml");
    if (def.ok()) text = *def;
  }
  out.task_kind = "python";
  RUNTRACK_ASSIGN_OR_RETURN(out.count, runtrack::CountBatchConfigs(text));
  if (r.mode == "yaml" && out.count > 1)
    return Status::InvalidArgument("YAML mode does not support batch syntax. Switch to Grid or Tree mode.");
  RUNTRACK_ASSIGN_OR_RETURN(auto configs, runtrack::ExpandBatchTemplate(text));
  for (size_t i = 0; i < configs.size() && i < GeneratorPreview::kPreviewItems; ++i)
    out.items.push_back({i, std::move(configs[i].desc), std::move(configs[i].yaml)});
  return out;
}

Result<GeneratorResult> TaskService::Create(const GeneratorRequest& r) {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  runtrack::CreateTasksOptions o;
  o.name_prefix = r.name_prefix;
  o.append_timestamp = r.append_timestamp;
  o.env = r.env;
  GeneratorResult out;
  if (ws->kind() == runtrack::WorkspaceKind::kShell) {
    if (!r.mode.empty() && r.mode != "shell")
      return Status::InvalidArgument(fmt::format("mode '{}' is not available in the shell workspace; use 'shell'", r.mode));
    o.shell_text = r.shell_text;
    out.task_kind = "shell";
  } else {
    if (!r.mode.empty() && r.mode != "form" && r.mode != "yaml")
      return Status::InvalidArgument(fmt::format("mode must be 'form' or 'yaml' in a script workspace, not '{}'", r.mode));
    o.mode = r.mode == "yaml" ? runtrack::TaskCreationMode::kSingle : runtrack::TaskCreationMode::kBatch;
    o.yaml_text = r.yaml_text;
    out.task_kind = "python";
  }
  RUNTRACK_ASSIGN_OR_RETURN(out.names, ws->CreateTasks(o));
  return out;
}

Result<runtrack::TaskPage> TaskService::List(const runtrack::TaskListQuery& query) {
  if (query.limit < 1 || query.limit > 10000) return Status::InvalidArgument("limit must be in [1, 10000]");
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ws->ListTasks(query);
}

Result<TaskDetail> TaskService::Show(const std::string& name) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  TaskDetail d;
  RUNTRACK_ASSIGN_OR_RETURN(d.summary, ws->GetTask(name));
  RUNTRACK_ASSIGN_OR_RETURN(boost::json::object info, ws->ReadTaskInfo(name));
  const fs::path dir = ws->dir() / "tasks" / name;
  d.dir = dir.string();
  d.config_file = JsonString(info.if_contains("config_file"));
  // The file name comes from task_info.json, which another tool may have written: a bare name only.
  if (!d.config_file.empty() && d.config_file.find('/') == std::string::npos && d.config_file != "." &&
      d.config_file != "..") {
    if (auto text = ReadSmallFile(dir / d.config_file); text.ok()) d.config_text = std::move(*text);
  }
  d.notes = JsonString(info.if_contains("notes"));
  if (const auto* env = info.if_contains("env"); env && env->is_object())
    for (const auto& kv : env->as_object())
      if (kv.value().is_string()) d.env[std::string(kv.key())] = std::string(kv.value().as_string());
  d.task_info_json = boost::json::serialize(info);
  return d;
}

Result<runtrack::TaskLogChunk> TaskService::ReadLog(const std::string& name, const runtrack::TaskLogQuery& query) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  if (query.max_bytes < 1 || query.max_bytes > (4u << 20))
    return Status::InvalidArgument("the chunk size must be in [1, 4194304] bytes");
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ws->ReadTaskLog(name, query);
}

Status TaskService::EnsureRunnerLocked(int workers) {
  if (runner_) return Status::Ok();
  runtrack::TaskRunnerOptions o;
  o.workers = workers;
  o.python_executable = options_.python_executable;
  o.shell_executable = options_.shell_executable;
  o.runicorn_dir = options_.runicorn_dir;
  o.cancel_grace = options_.cancel_grace;
  std::shared_ptr<runtrack::SharedTaskQueue> queue;
  if (options_.shared_queue) {
    RUNTRACK_ASSIGN_OR_RETURN(queue, options_.shared_queue(*workspace_));
    o.shared_queue = queue;
    o.workers = options_.shared_workers;
    o.scan_interval = options_.scan_interval;
  }
  RUNTRACK_ASSIGN_OR_RETURN(runner_, runtrack::TaskRunner::Start(*workspace_, std::move(o)));
  shared_queue_ = std::move(queue);
  return Status::Ok();
}

Status TaskService::StartRunner() {
  RUNTRACK_RETURN_IF_ERROR(CurrentWorkspace().status());
  std::lock_guard lock(mu_);
  return EnsureRunnerLocked(options_.shared_queue ? options_.shared_workers : 1);
}

Result<RunTasksReport> TaskService::Run(const std::vector<std::string>& names, int workers) {
  if (names.empty()) return Status::InvalidArgument("no task names given");
  if (workers < 1 || workers > 32) return Status::InvalidArgument("workers must be in [1, 32]");
  for (const auto& n : names) RUNTRACK_RETURN_IF_ERROR(CheckName(n));
  RUNTRACK_RETURN_IF_ERROR(CurrentWorkspace().status());
  std::lock_guard lock(mu_);
  RUNTRACK_RETURN_IF_ERROR(EnsureRunnerLocked(workers));
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::SubmitReport s, runner_->Submit(names));
  return RunTasksReport{std::move(s.queued), std::move(s.skipped)};
}

Status TaskService::RunNow(const std::string& name) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_RETURN_IF_ERROR(CurrentWorkspace().status());
  std::lock_guard lock(mu_);
  RUNTRACK_RETURN_IF_ERROR(EnsureRunnerLocked(options_.shared_queue ? options_.shared_workers : 1));
  return runner_->RunNow(name);
}

Result<runtrack::CancelOutcome> TaskService::Cancel(const std::string& name) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_RETURN_IF_ERROR(CurrentWorkspace().status());
  runtrack::TaskRunner* runner = nullptr;
  {
    std::lock_guard lock(mu_);
    // A runner of this process is what asks another process's runner to cancel, too.
    RUNTRACK_RETURN_IF_ERROR(EnsureRunnerLocked(1));
    runner = runner_.get();
  }
  // Not under mu_: cancelling a running task waits up to cancel_grace. The runner lives until the
  // service is destroyed or the workspace switched, which is refused while a task is running.
  return runner->Cancel(name);
}

Status TaskService::WaitIdle(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mu_);
  if (!runner_) return Status::Ok();
  return runner_->WaitIdle(timeout);
}

Result<TrashReport> TaskService::Trash(const std::vector<std::string>& names) {
  if (names.empty()) return Status::InvalidArgument("no task names given");
  for (const auto& n : names) RUNTRACK_RETURN_IF_ERROR(CheckName(n));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  TrashReport out;
  for (const auto& n : names) {
    Status s = ws->TrashTask(n);
    if (s.ok()) out.deleted.push_back(n);
    else out.skipped.emplace_back(n, s);
  }
  return out;
}

Result<std::string> TaskService::Restore(const std::string& entry, const std::string& as) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(entry));
  if (!as.empty()) RUNTRACK_RETURN_IF_ERROR(CheckName(as));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  const fs::path tasks = ws->dir() / "tasks";
  const fs::path from = tasks / ".trash" / entry;
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return Status::NotFound(fmt::format("no trashed task '{}'", entry));
  // Back under the name it had (its task_info.json keeps it); the trash suffix is not part of it.
  std::string original = entry;
  if (auto text = ReadSmallFile(from / "task_info.json"); text.ok()) {
    boost::system::error_code jec;
    auto v = runtrack::ParseJson(*text, jec);
    if (!jec && v.is_object()) {
      std::string n = JsonString(v.as_object().if_contains("name"));
      if (CheckName(n).ok()) original = n;
    }
  }
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, (tasks / original).c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists(fmt::format("task '{}' exists; restore it under another name", original));
    return Status::IOError(fmt::format("cannot restore '{}': {}", entry, std::strerror(errno)));
  }
  runtrack::TaskListQuery rescan;
  rescan.rescan = true;  // the index learns of the folder now, not at the next mtime tick
  (void)ws->ListTasks(rescan);
  if (!as.empty() && as != original) {
    RUNTRACK_RETURN_IF_ERROR(ws->RenameTask(original, as));
    return as;
  }
  return original;
}

Status TaskService::Rename(const std::string& name, const std::string& new_name) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_RETURN_IF_ERROR(CheckName(new_name));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ws->RenameTask(name, new_name);
}

Result<bool> TaskService::Pin(const std::string& name, std::optional<bool> pinned) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  bool value = false;
  if (pinned) {
    value = *pinned;
  } else {
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskSummary t, ws->GetTask(name));
    value = !t.pinned;
  }
  RUNTRACK_RETURN_IF_ERROR(ws->SetPinned(name, value));
  return value;
}

Result<std::vector<runtrack::TaskSummary>> TaskService::Reorder(const std::vector<runtrack::TaskOrderItem>& items) {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  RUNTRACK_RETURN_IF_ERROR(ws->ReorderTasks(items));
  std::shared_ptr<runtrack::SharedTaskQueue> queue;
  if (options_.shared_queue) {
    std::lock_guard lock(mu_);
    RUNTRACK_RETURN_IF_ERROR(EnsureRunnerLocked(options_.shared_workers));
    queue = shared_queue_;
  }
  // One listing (the index reloads just the reordered tasks) instead of a file read per task.
  runtrack::TaskListQuery all;
  all.limit = std::numeric_limits<size_t>::max() / 2;
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskPage page, ws->ListTasks(all));
  std::unordered_map<std::string_view, const runtrack::TaskSummary*> by_name;
  for (const auto& t : page.items) by_name[t.name] = &t;
  std::vector<runtrack::TaskSummary> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    auto it = by_name.find(item.name);
    if (it == by_name.end()) return Status::NotFound(fmt::format("task '{}' does not exist", item.name));
    out.push_back(*it->second);
  }
  // The shared queue claims in the same order: each task still waiting there gets its position.
  // One that left it meanwhile (claimed, finished) is refused there and needs none.
  for (size_t i = 0; queue && i < items.size(); ++i) {
    if (out[i].status != runtrack::TaskStatus::kQueued) continue;
    Status s = queue->SetOrder(items[i].name, static_cast<int64_t>(i));
    if (!s.ok() && s.code() != runtrack::StatusCode::kFailedPrecondition && s.code() != runtrack::StatusCode::kNotFound)
      return s;
  }
  return out;
}

bool TaskService::IsCurrent(const runtrack::Workspace* ws) {
  std::lock_guard lock(mu_);
  return workspace_.get() == ws;
}

Status TaskService::UpdateNotes(const std::string& name, const std::string& notes, const std::string& expected) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  if (notes.size() > (1u << 20)) return Status::InvalidArgument("notes are limited to 1 MiB");
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ws->UpdateNotes(name, notes, expected);
}

Status TaskService::UpdateEnv(const std::string& name, const std::map<std::string, std::string>& env,
                              const std::map<std::string, std::string>& expected) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  if (env.size() > 1024) return Status::InvalidArgument("a task's env is limited to 1024 variables");
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  return ws->UpdateEnv(name, env, expected);
}

Result<std::string> TaskService::ExportCsv(const std::vector<std::string>& wanted) {
  for (const auto& n : wanted) RUNTRACK_RETURN_IF_ERROR(CheckName(n));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, CurrentWorkspace());
  std::vector<std::string> names = wanted;
  if (names.empty()) {
    runtrack::TaskListQuery q;
    q.limit = 1000000;
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskPage page, ws->ListTasks(q));
    for (const auto& t : page.items) names.push_back(t.name);
  }
  std::vector<boost::json::object> infos;
  std::set<std::string> record_keys;
  for (const auto& n : names) {
    RUNTRACK_ASSIGN_OR_RETURN(boost::json::object info, ws->ReadTaskInfo(n));
    if (const auto* recs = info.if_contains("records"); recs && recs->is_array())
      for (const auto& r : recs->as_array())
        if (r.is_object())
          for (const auto& kv : r.as_object()) record_keys.insert(std::string(kv.key()));
    infos.push_back(std::move(info));
  }
  std::string out = "name,status,run,start_time,finish_time,duration_seconds,exit_code,pid";
  for (const auto& k : record_keys) out += "," + CsvField(k, true);
  out += "\n";
  for (size_t t = 0; t < names.size(); ++t) {
    const auto& info = infos[t];
    const auto* ri = info.if_contains("run_index");
    int64_t runs = ri && ri->is_int64() ? ri->as_int64() : 0;
    for (int64_t i = 0; i < runs; ++i) {
      auto cell = [&](std::string_view key) {
        const auto* v = At(info, key, static_cast<size_t>(i));
        return v ? CsvField(CellText(*v), v->is_string()) : std::string();
      };
      std::string status = cell("run_statuses");
      if (status.empty()) status = JsonString(info.if_contains("status"));
      out += CsvField(names[t], true) + "," + status + "," + std::to_string(i + 1) + "," + cell("start_times") + "," +
             cell("finish_times") + "," + cell("durations") + "," + cell("exit_codes") + "," + cell("pids");
      const auto* rec = At(info, "records", static_cast<size_t>(i));
      for (const auto& k : record_keys) {
        out += ",";
        if (rec && rec->is_object())
          if (const auto* v = rec->as_object().if_contains(k)) out += CsvField(CellText(*v), v->is_string());
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace runicorn::service
