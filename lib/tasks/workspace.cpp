// Workspace: layout, task creation (transactional), listing, trash and metrics appends.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <set>

#include <boost/json/parse.hpp>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "runtrack/tasks.h"
#include "runtrack/json_parse.h"
#include "tasks/batch_expansion.h"
#include "tasks/batch_template.h"
#include "tasks/local_time.h"
#include "tasks/reconcile.h"
#include "tasks/task_logs.h"
#include "tasks/task_index.h"
#include "tasks/task_info_store.h"
#include "tasks/task_order.h"
#include "util/files.h"
#include "util/json.h"

namespace runtrack {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace runtrack::tasks;

std::string RandomHex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  while (out.size() < n) out += fmt::format("{:016x}", rng());
  return out.substr(0, n);
}

std::string Trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

json::object NewTaskInfo(const std::string& name, TaskKind kind, const std::string& created_at,
                         const std::string& script, const std::map<std::string, std::string>& env) {
  json::object info;
  info["name"] = name;
  info["status"] = "pending";
  info["progress"] = 0.0;
  info["created_at"] = created_at;
  info["pinned"] = false;
  info["task_kind"] = kind == TaskKind::kShell ? "shell" : "python";
  info["config_file"] = kind == TaskKind::kShell ? "config.sh" : "config.yaml";
  info["script"] = script;
  if (kind == TaskKind::kShell) info["command_mode"] = "shell";
  if (!env.empty()) {
    json::object e;
    for (const auto& [k, v] : env) e[k] = v;
    info["env"] = std::move(e);
  }
  info["run_index"] = 0;
  NormalizeRunHistory(info);
  return info;
}

Status CheckEnv(const std::map<std::string, std::string>& env) {
  if (env.size() > 1024) return Status::InvalidArgument("a task env may hold at most 1024 variables");
  for (const auto& [k, v] : env) {
    bool ok = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0]));
    for (char c : k) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok) return Status::InvalidArgument(fmt::format("invalid environment variable name '{}'", k));
    if (v.find('\0') != std::string::npos)
      return Status::InvalidArgument(fmt::format("environment variable {} contains a NUL byte", k));
  }
  return Status::Ok();
}

class WorkspaceImpl final : public Workspace {
 public:
  WorkspaceImpl(fs::path dir, fs::path project_root, WorkspaceKind kind, fs::path script)
      : dir_(std::move(dir)), tasks_dir_(dir_ / "tasks"), project_root_(std::move(project_root)),
        kind_(kind), script_(std::move(script)), index_(tasks_dir_) {}

  const fs::path& dir() const override { return dir_; }
  const fs::path& project_root() const override { return project_root_; }
  WorkspaceKind kind() const override { return kind_; }
  const fs::path& script_path() const override { return script_; }

  Result<std::vector<std::string>> CreateTasks(const CreateTasksOptions& options) override;
  Result<TaskPage> ListTasks(const TaskListQuery& query) override { return index_.List(query); }
  Result<TaskSummary> GetTask(std::string_view name) override {
    RUNTRACK_ASSIGN_OR_RETURN(json::object info, ReadTaskInfo(name));
    return SummaryFromInfo(name, info);
  }
  Result<json::object> ReadTaskInfo(std::string_view name) override;
  Status TrashTask(std::string_view name) override;
  Result<TaskLogChunk> ReadTaskLog(std::string_view name, const TaskLogQuery& query) override {
    RUNTRACK_ASSIGN_OR_RETURN(json::object info, ReadTaskInfo(name));
    return ReadLog(tasks_dir_ / std::string(name), info, query);
  }
  Status AppendRecord(std::string_view task, int run_index, const json::object& values) override {
    if (values.empty()) return Status::InvalidArgument("record() needs at least one value");
    return AppendMetricsLine(task, run_index, "record", json::value(values));
  }
  Status AppendTrack(std::string_view task, int run_index,
                     const std::vector<std::pair<std::string, double>>& values) override {
    if (values.empty()) return Status::InvalidArgument("track() needs at least one value");
    json::object o;
    for (const auto& [k, v] : values) {
      if (k.empty()) return Status::InvalidArgument("track() keys must not be empty");
      o[k] = v;
    }
    return AppendMetricsLine(task, run_index, "track", json::value(std::move(o)));
  }
  Status SetPinned(std::string_view name, bool pinned) override {
    return UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) {
      i["pinned"] = pinned;
      return Status::Ok();
    });
  }
  Status UpdateNotes(std::string_view name, const std::string& notes, const std::string& expected) override {
    if (notes.size() > 1 << 20) return Status::InvalidArgument("notes are limited to 1 MiB");
    return UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) {
      if (GetString(i, "notes") != expected)
        return Status::FailedPrecondition(fmt::format("the notes of task '{}' changed meanwhile", name));
      i["notes"] = notes;
      return Status::Ok();
    });
  }
  Status UpdateEnv(std::string_view name, const std::map<std::string, std::string>& env,
                   const std::map<std::string, std::string>& expected) override {
    RUNTRACK_RETURN_IF_ERROR(CheckEnv(env));
    return UpdateTaskInfo(tasks_dir_, name, [&](json::object& i) {
      std::map<std::string, std::string> current;
      if (auto it = i.find("env"); it != i.end() && it->value().is_object())
        for (const auto& [k, v] : it->value().as_object())
          current[std::string(k)] = v.is_string() ? std::string(v.as_string()) : util::SerializeJson(v);
      if (current != expected)
        return Status::FailedPrecondition(fmt::format("the env of task '{}' changed meanwhile", name));
      json::object e;
      for (const auto& [k, v] : env) e[k] = v;
      i["env"] = std::move(e);
      return Status::Ok();
    });
  }
  Status RenameTask(std::string_view name, std::string_view new_name) override;
  Status ReorderTasks(const std::vector<TaskOrderItem>& items) override { return WriteTaskOrder(tasks_dir_, items); }
  Result<TaskChanges> ChangesSince(uint64_t since) override { return index_.ChangesSince(since); }
  Result<ReconcileReport> ReconcileAbandonedTasks() override {
    RUNTRACK_ASSIGN_OR_RETURN(std::vector<TaskSummary> active, index_.Active());
    return ReconcileAbandoned(tasks_dir_, active);
  }

 private:
  Status AppendMetricsLine(std::string_view task, int run_index, std::string_view kind, json::value values);
  Result<std::vector<std::pair<std::string, std::string>>> MakeBatch(const CreateTasksOptions& o,
                                                                     TaskKind* kind);
  Result<std::string> UniqueName(const std::string& name, const std::set<std::string>& taken) const;

  fs::path dir_, tasks_dir_, project_root_;
  WorkspaceKind kind_;
  fs::path script_;
  TaskIndex index_;
};

// (name, payload) pairs in creation order.
Result<std::vector<std::pair<std::string, std::string>>> WorkspaceImpl::MakeBatch(
    const CreateTasksOptions& o, TaskKind* kind) {
  std::vector<std::string> payloads;
  if (kind_ == WorkspaceKind::kShell) {
    *kind = TaskKind::kShell;
    if (Trimmed(o.shell_text).empty()) return Status::InvalidArgument("a shell task needs a command");
    payloads.push_back(o.shell_text.back() == '\n' ? o.shell_text : o.shell_text + "\n");
  } else {
    *kind = TaskKind::kPython;
    std::string text = o.yaml_text;
    if (Trimmed(text).empty()) {
      auto def = util::ReadFile(dir_ / "config_default.yaml");
      if (def.ok()) text = *def;
    }
    RUNTRACK_ASSIGN_OR_RETURN(ConfigValue root, ParseTemplate(text));
    if (o.mode == TaskCreationMode::kSingle) {
      if (CountBatchLeaves(root) > 0) return Status::InvalidArgument(std::string(kSingleModeBatchError));
      payloads.push_back(EmitYamlConfig(root));
    } else {
      RUNTRACK_ASSIGN_OR_RETURN(std::vector<ExpandedConfig> configs, ExpandTemplate(root, o.limit));
      for (auto& c : configs) payloads.push_back(std::move(c.yaml));
    }
  }
  std::string prefix = Trimmed(o.name_prefix);
  if (prefix.empty()) prefix = "task";
  if (o.append_timestamp) prefix += "_" + LocalTimestamp(util::NowSeconds());
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(prefix));
  std::vector<std::pair<std::string, std::string>> batch;
  size_t n = payloads.size();
  for (size_t k = 0; k < n; ++k) {
    std::string name = n == 1 ? prefix : fmt::format("{}_{}-of-{}", prefix, k + 1, n);
    RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
    batch.emplace_back(std::move(name), std::move(payloads[k]));
  }
  return batch;
}

Result<std::string> WorkspaceImpl::UniqueName(const std::string& name, const std::set<std::string>& taken) const {
  auto free = [&](const std::string& n) {
    std::error_code ec;
    return !taken.count(n) && !fs::exists(tasks_dir_ / n, ec) && CheckTaskName(n).ok();
  };
  if (free(name)) return name;
  // Pyruns' collision rule: `_<epoch ms>`, then `_<k>`.
  std::string base = fmt::format("{}_{}", name, static_cast<int64_t>(util::NowSeconds() * 1000));
  if (free(base)) return base;
  for (int k = 1; k <= 1000; ++k)
    if (free(fmt::format("{}_{}", base, k))) return fmt::format("{}_{}", base, k);
  return Status::AlreadyExists(fmt::format(
      "task '{}' exists and no free variant of the name fits in 200 bytes", name));
}

Result<std::vector<std::string>> WorkspaceImpl::CreateTasks(const CreateTasksOptions& o) {
  RUNTRACK_RETURN_IF_ERROR(CheckEnv(o.env));
  TaskKind kind;
  RUNTRACK_ASSIGN_OR_RETURN(auto batch, MakeBatch(o, &kind));
  std::string created_at = LocalTimestamp(util::NowSeconds());
  std::string script = kind_ == WorkspaceKind::kScript ? script_.string() : "";
  std::string payload_file = kind == TaskKind::kShell ? "config.sh" : "config.yaml";

  // Stage every task in one hidden directory, make it durable with one syncfs, then publish each
  // with rename(RENAME_NOREPLACE). Listings skip dot-directories, so nothing half-written shows.
  fs::path staging = tasks_dir_ / (".pyruns-task-" + RandomHex(8));
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(staging));
  auto cleanup = [&] { std::error_code ec; fs::remove_all(staging, ec); };
  std::set<std::string> taken;
  std::vector<std::string> names;
  for (auto& [wanted, payload] : batch) {
    auto unique = UniqueName(wanted, taken);
    if (!unique.ok()) { cleanup(); return unique.status(); }
    std::string name = *unique;
    taken.insert(name);
    fs::path t = staging / name;
    Status s = util::CreateDirectories(t / "run_logs");
    if (s.ok()) s = WriteTaskInfo(t, NewTaskInfo(name, kind, created_at, script, o.env), false);
    if (s.ok()) s = util::WriteFileAtomic(t / payload_file, payload, false);
    if (!s.ok()) { cleanup(); return s; }
    names.push_back(name);
  }
  int staging_fd = ::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (staging_fd >= 0) { ::syncfs(staging_fd); ::close(staging_fd); }

  std::vector<std::string> published;
  for (const auto& name : names) {
    if (::renameat2(AT_FDCWD, (staging / name).c_str(), AT_FDCWD, (tasks_dir_ / name).c_str(),
                    RENAME_NOREPLACE) != 0) {
      int err = errno;
      Status s = util::ErrnoStatus("publish task", tasks_dir_ / name, err);
      // Roll back: nothing of a failed batch stays. A pending task cannot have been claimed by
      // anyone who respects the staging protocol before CreateTasks returned its name.
      for (const auto& p : published) {
        std::error_code ec;
        fs::remove_all(tasks_dir_ / p, ec);
      }
      cleanup();
      return err == EEXIST
                 ? Status::AlreadyExists(fmt::format("task '{}' already exists", name))
                 : s;
    }
    published.push_back(name);
  }
  cleanup();
  RUNTRACK_RETURN_IF_ERROR(util::SyncDir(tasks_dir_));
  return names;
}

Result<json::object> WorkspaceImpl::ReadTaskInfo(std::string_view name) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  fs::path task_dir = tasks_dir_ / std::string(name);
  auto info = LoadTaskInfo(task_dir);
  if (!info.ok() && info.status().code() == StatusCode::kNotFound)
    return Status::NotFound(fmt::format("task '{}' does not exist", name));
  if (!info.ok()) return info.status();
  auto metrics = util::ReadFile(task_dir / kMetricsFile);
  if (metrics.ok()) {
    size_t folded = static_cast<size_t>(GetNumber(*info, "runicorn_metrics_offset", 0));
    if (folded <= metrics->size()) FoldMetricsLines(*metrics, folded, *info);
  }
  return info;
}

Status WorkspaceImpl::TrashTask(std::string_view name) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  fs::path task_dir = tasks_dir_ / std::string(name);
  std::error_code ec;
  if (!fs::is_directory(task_dir, ec)) return Status::NotFound(fmt::format("task '{}' does not exist", name));
  RUNTRACK_ASSIGN_OR_RETURN(util::FileLock lock, util::FileLock::Acquire(task_dir / kTaskLockFile));
  RUNTRACK_ASSIGN_OR_RETURN(json::object info, LoadTaskInfo(task_dir));
  std::string status = GetString(info, "status");
  if (status == "queued" || status == "running")
    return Status::FailedPrecondition(
        fmt::format("task '{}' is {}; cancel it before moving it to the trash", name, status));
  fs::path trash = tasks_dir_ / ".trash";
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(trash));
  fs::path target = trash / std::string(name);
  if (fs::exists(target, ec))
    target = trash / fmt::format("{}_{}_{}", name, LocalTimestamp(util::NowSeconds()), RandomHex(8));
  if (::rename(task_dir.c_str(), target.c_str()) != 0) return util::ErrnoStatus("trash", task_dir);
  return util::SyncDir(tasks_dir_);
}

Status WorkspaceImpl::RenameTask(std::string_view name, std::string_view new_name) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(new_name));
  fs::path from = tasks_dir_ / std::string(name), to = tasks_dir_ / std::string(new_name);
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return Status::NotFound(fmt::format("task '{}' does not exist", name));
  RUNTRACK_ASSIGN_OR_RETURN(util::FileLock lock, util::FileLock::Acquire(from / kTaskLockFile));
  RUNTRACK_ASSIGN_OR_RETURN(json::object info, LoadTaskInfo(from));
  std::string status = GetString(info, "status");
  if (status == "queued" || status == "running")
    return Status::FailedPrecondition(fmt::format("task '{}' is {}; it cannot be renamed now", name, status));
  info["name"] = std::string(new_name);
  // Publish the new name first (no replace), then record it inside: a crash in between leaves
  // a folder whose `name` field is stale, which readers ignore (the folder name is the identity).
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    if (err == EEXIST) return Status::AlreadyExists(fmt::format("task '{}' already exists", new_name));
    return util::ErrnoStatus("rename", from, err);
  }
  RUNTRACK_RETURN_IF_ERROR(WriteTaskInfo(to, info, true));
  return util::SyncDir(tasks_dir_);
}

Status WorkspaceImpl::AppendMetricsLine(std::string_view task, int run_index, std::string_view kind,
                                        json::value values) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(task));
  if (run_index < 1) return Status::InvalidArgument(fmt::format("run index {} is not >= 1", run_index));
  fs::path task_dir = tasks_dir_ / std::string(task);
  std::error_code ec;
  if (!fs::is_directory(task_dir, ec)) return Status::NotFound(fmt::format("task '{}' does not exist", task));
  json::object line;
  line["run"] = run_index;
  line["kind"] = kind;
  line["values"] = std::move(values);
  line["time"] = util::NowSeconds();
  std::string text = util::SerializeJson(line) + "\n";
  fs::path path = task_dir / kMetricsFile;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("open", path);
  // One write(2) of one whole line with O_APPEND: concurrent writers never interleave.
  Status s = util::WriteAll(fd, text.data(), text.size(), path);
  ::close(fd);
  return s;
}

Status EnsureLayout(const fs::path& dir, const json::object& script_info, std::string_view config_template,
                    bool script_workspace) {
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir / "tasks"));
  std::error_code ec;
  if (!fs::exists(dir / "script_info.json", ec)) {
    Status s = util::CreateFileExclusive(dir / "script_info.json", util::SerializeJson(script_info));
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  }
  if (script_workspace && !fs::exists(dir / "config_default.yaml", ec)) {
    std::string text = config_template.empty() ? "# task config here\n" : std::string(config_template);
    if (!config_template.empty()) RUNTRACK_RETURN_IF_ERROR(ParseTemplate(text).status());
    Status s = util::CreateFileExclusive(dir / "config_default.yaml", text);
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Workspace>> Workspace::OpenScript(const fs::path& project_root,
                                                        const fs::path& script_path,
                                                        std::string_view config_template) {
  if (script_path.extension() != ".py")
    return Status::InvalidArgument(fmt::format("'{}' is not a .py script", script_path.string()));
  if (script_path.filename() == "shell.py")
    return Status::InvalidArgument("a script named shell.py would clash with the shell workspace");
  std::string stem = script_path.stem().string();
  if (stem == "_shell_") stem = "py_shell_";
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(stem));
  std::error_code ec;
  fs::path root = fs::absolute(project_root, ec);
  fs::path script = fs::absolute(script_path, ec);
  fs::path dir = root / "_pyruns_" / stem;
  json::object info;
  info["workspace_kind"] = "script";
  info["script_name"] = stem;
  info["script_path"] = script.string();
  info["created_at"] = LocalTimestampSpaced(util::NowSeconds());
  info["config_default_source"] = "";
  info["config_default_source_name"] = "";
  RUNTRACK_RETURN_IF_ERROR(EnsureLayout(dir, info, config_template, true));
  return std::unique_ptr<Workspace>(new WorkspaceImpl(dir, root, WorkspaceKind::kScript, script));
}

Result<std::unique_ptr<Workspace>> Workspace::OpenShell(const fs::path& project_root) {
  std::error_code ec;
  fs::path root = fs::absolute(project_root, ec);
  fs::path dir = root / "_pyruns_" / "_shell_";
  json::object info;
  info["workspace_kind"] = "shell";
  info["script_name"] = "_shell_";
  info["script_path"] = "";
  info["project_root"] = root.string();
  info["last_used_template"] = "";
  info["created_at"] = LocalTimestampSpaced(util::NowSeconds());
  RUNTRACK_RETURN_IF_ERROR(EnsureLayout(dir, info, "", false));
  return std::unique_ptr<Workspace>(new WorkspaceImpl(dir, root, WorkspaceKind::kShell, {}));
}

Result<std::unique_ptr<Workspace>> Workspace::Open(const fs::path& workspace_dir) {
  std::error_code ec;
  fs::path dir = fs::absolute(workspace_dir, ec).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  bool looks_like_workspace = fs::is_directory(dir / "tasks", ec) ||
                              fs::exists(dir / "config_default.yaml", ec) ||
                              fs::exists(dir / "script_info.json", ec);
  if (!looks_like_workspace)
    return Status::NotFound(fmt::format(
        "'{}' is not a workspace (no tasks/, config_default.yaml or script_info.json)", dir.string()));
  json::object info;
  if (auto text = util::ReadFile(dir / "script_info.json"); text.ok()) {
    json::error_code jec;
    json::value v = runtrack::ParseJson(*text, jec);
    if (!jec && v.is_object()) info = v.as_object();
  }
  bool shell = GetString(info, "workspace_kind") == "shell" || dir.filename() == "_shell_";
  fs::path project_root = dir.parent_path().parent_path();
  if (shell && !GetString(info, "project_root").empty()) project_root = GetString(info, "project_root");
  fs::path script = GetString(info, "script_path");
  if (!shell && script.empty()) script = project_root / (dir.filename().string() + ".py");
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir / "tasks"));
  return std::unique_ptr<Workspace>(new WorkspaceImpl(dir, project_root,
                                                      shell ? WorkspaceKind::kShell : WorkspaceKind::kScript,
                                                      shell ? fs::path() : script));
}

}  // namespace runtrack
