#include "tasks/task_info_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "util/files.h"
#include "util/json.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

Result<json::object> LoadTaskInfo(const fs::path& task_dir) {
  fs::path path = task_dir / kTaskInfoFile;
  RUNTRACK_ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  json::error_code ec;
  json::value v = runtrack::ParseJson(text, ec);
  if (ec || !v.is_object())
    return Status::Corruption(fmt::format("{} is not a JSON object", path.string()));
  return std::move(v.as_object());
}

Status WriteTaskInfo(const fs::path& task_dir, const json::object& info, bool sync) {
  return util::WriteFileAtomic(task_dir / kTaskInfoFile, util::SerializeJson(info), sync);
}

namespace {

// What decides a task's place in a listing besides its status (TaskListOrder).
json::value Placement(const json::object& info) {
  json::array placement;
  for (std::string_view key : {"task_order", "pinned"}) {
    auto it = info.find(key);
    placement.push_back(it == info.end() ? json::value(nullptr) : it->value());
  }
  return placement;
}

}  // namespace

Status UpdateTaskInfo(const fs::path& tasks_dir, std::string_view name,
                      const std::function<Status(json::object&)>& mutate, bool sync) {
  RUNTRACK_RETURN_IF_ERROR(CheckTaskName(name));
  fs::path task_dir = tasks_dir / std::string(name);
  std::error_code ec;
  if (!fs::is_directory(task_dir, ec))
    return Status::NotFound(fmt::format("task '{}' does not exist", name));
  RUNTRACK_ASSIGN_OR_RETURN(util::FileLock lock, util::FileLock::Acquire(task_dir / kTaskLockFile));
  RUNTRACK_ASSIGN_OR_RETURN(json::object info, LoadTaskInfo(task_dir));
  std::string before = GetString(info, "status");
  const json::value order_before = Placement(info);
  RUNTRACK_RETURN_IF_ERROR(mutate(info));
  NormalizeRunHistory(info);
  RUNTRACK_RETURN_IF_ERROR(WriteTaskInfo(task_dir, info, sync));
  std::string after = GetString(info, "status");
  if (after != before) RUNTRACK_RETURN_IF_ERROR(AppendStatusLog(tasks_dir, name, after));
  // A new task_order or pin moves the task in every listing, so other processes' indexes and the
  // change feed must hear of it like a status change.
  else if (Placement(info) != order_before)
    RUNTRACK_RETURN_IF_ERROR(AppendStatusLog(tasks_dir, name, "reordered"));
  return Status::Ok();
}

Status AppendStatusLog(const fs::path& tasks_dir, std::string_view name, std::string_view status,
                       uint64_t rotate_at) {
  fs::path path = tasks_dir / kStatusLogFile;
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return util::ErrnoStatus("open", path);
  std::string line = fmt::format("{}\t{}\n", name, status);
  // One write(2) with O_APPEND: concurrent appenders never interleave inside a line.
  Status s = util::WriteAll(fd, line.data(), line.size(), path);
  struct stat st {};
  const bool full = s.ok() && ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) >= rotate_at;
  ::close(fd);
  if (!full) return s;
  // Replace, never truncate: truncating in place would let a reader's offset land inside a
  // later line. Two processes rotating at once just replace it twice. No fsync: after a crash
  // either file is a valid signal.
  return util::WriteFileAtomic(path, kStatusLogRotatedLine, /*sync=*/false);
}

void NormalizeRunHistory(json::object& info) {
  int64_t runs = static_cast<int64_t>(GetNumber(info, "run_index", 0));
  if (runs < 0) runs = 0;
  for (std::string_view key : kRunHistoryKeys) {
    json::value& v = info[key];
    if (!v.is_array()) v = json::array();
    json::array& a = v.as_array();
    bool dict_slots = key == "records" || key == "tracks";
    while (static_cast<int64_t>(a.size()) < runs) a.push_back(dict_slots ? json::value(json::object()) : json::value(nullptr));
    while (static_cast<int64_t>(a.size()) > runs) a.pop_back();
  }
}

std::string GetString(const json::object& o, std::string_view key, std::string fallback) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return fallback;
  return std::string(it->value().as_string());
}

double GetNumber(const json::object& o, std::string_view key, double fallback) {
  auto it = o.find(key);
  if (it == o.end()) return fallback;
  const json::value& v = it->value();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  if (v.is_double()) return v.as_double();
  return fallback;
}

bool GetBool(const json::object& o, std::string_view key, bool fallback) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_bool()) return fallback;
  return it->value().as_bool();
}

TaskSummary SummaryFromInfo(std::string_view name, const json::object& info) {
  TaskSummary s;
  s.name = std::string(name);
  auto status = ParseTaskStatus(GetString(info, "status", "pending"));
  s.status = status.ok() ? *status : TaskStatus::kFailed;
  s.kind = GetString(info, "task_kind", "python") == "shell" ? TaskKind::kShell : TaskKind::kPython;
  s.created_at = GetString(info, "created_at");
  s.pinned = GetBool(info, "pinned");
  s.run_index = static_cast<int>(GetNumber(info, "run_index", 0));
  s.queued_at = GetNumber(info, "queued_at", 0);
  // Pyruns writes a list index; anything negative or not a number means "no manual order".
  double order = GetNumber(info, "task_order", -1);
  s.task_order = order >= 0 && order < 1e15 ? static_cast<int64_t>(order) : -1;
  return s;
}

size_t FoldMetricsLines(std::string_view text, size_t from, json::object& info) {
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
    int64_t run = static_cast<int64_t>(GetNumber(rec, "run", 0));
    auto values = rec.find("values");
    std::string kind = GetString(rec, "kind");
    if (run < 1 || values == rec.end() || !values->value().is_object()) continue;
    // Metrics may arrive for a run the file does not show yet (a foreign runner): grow to it.
    if (GetNumber(info, "run_index", 0) < static_cast<double>(run)) info["run_index"] = run;
    NormalizeRunHistory(info);
    if (kind == "record") {
      json::value& sv = info["records"].as_array()[run - 1];
      if (!sv.is_object()) sv = json::object();
      json::object& slot = sv.as_object();
      for (const auto& [k, val] : values->value().as_object()) slot[k] = val;
    } else if (kind == "track") {
      json::value& sv = info["tracks"].as_array()[run - 1];
      if (!sv.is_object()) sv = json::object();
      json::object& slot = sv.as_object();
      for (const auto& [k, val] : values->value().as_object()) {
        json::value& series = slot[k];
        if (!series.is_array()) series = json::array();
        series.as_array().push_back(val);
      }
    }
  }
  return pos;
}

}  // namespace runtrack::tasks
