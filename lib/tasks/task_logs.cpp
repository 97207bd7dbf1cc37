#include "tasks/task_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "tasks/task_info_store.h"
#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// "runN.log" with N ≥ 1 → N; 0 otherwise.
int RunNumber(std::string_view file) {
  if (!file.starts_with("run") || !file.ends_with(".log")) return 0;
  std::string_view digits = file.substr(3, file.size() - 7);
  if (digits.empty() || digits.size() > 9 || digits[0] == '0' ||
      digits.find_first_not_of("0123456789") != std::string_view::npos)
    return 0;
  return std::stoi(std::string(digits));
}

}  // namespace

Result<TaskLogChunk> ReadLog(const fs::path& task_dir, const json::object& info, const TaskLogQuery& query) {
  fs::path logs = task_dir / "run_logs";
  TaskLogChunk chunk;
  std::vector<int> runs;
  bool has_error = false, has_queue = false;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(logs, ec)) {
    std::string f = e.path().filename().string();
    if (int n = RunNumber(f)) runs.push_back(n);
    has_error |= f == "error.log";
    has_queue |= f == "queue.log";
  }
  std::string status = GetString(info, "status", "pending");
  int current = static_cast<int>(GetNumber(info, "run_index", 0));
  if (status == "running" && current > 0 && std::find(runs.begin(), runs.end(), current) == runs.end())
    runs.push_back(current);  // listed before it exists, as Pyruns does
  std::sort(runs.begin(), runs.end());
  if (has_queue) chunk.available_logs.push_back("queue.log");
  for (int n : runs) chunk.available_logs.push_back(fmt::format("run{}.log", n));
  if (has_error) chunk.available_logs.push_back("error.log");

  std::string file = query.log_file_name;
  if (file.empty()) {
    if (status == "queued" && has_queue) file = "queue.log";
    else if (status == "running" && current > 0) file = fmt::format("run{}.log", current);
    else if (status == "failed" && has_error) file = "error.log";
    else if (!runs.empty()) file = fmt::format("run{}.log", runs.back());
    else return Status::NotFound("the task has no log yet");
  }
  if (file != "error.log" && file != "queue.log" && RunNumber(file) == 0)
    return Status::InvalidArgument(fmt::format("'{}' is not a task log (runN.log, error.log, queue.log)", file));
  chunk.selected_log = file;

  fs::path path = logs / file;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", path);
  struct stat st {};
  ::fstat(fd, &st);
  chunk.log_identity = fmt::format("{:x}:{:x}", static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t from = 0;
  if (query.offset) {
    from = *query.offset;
    bool other_file = !query.log_identity.empty() && query.log_identity != chunk.log_identity;
    if (other_file || from > size) {
      chunk.reset = true;
      from = 0;
    }
  } else {
    from = size > query.max_bytes ? size - query.max_bytes : 0;
  }
  size_t n = static_cast<size_t>(std::min<uint64_t>(size - from, query.max_bytes));
  chunk.content.resize(n);
  ssize_t got = n ? ::pread(fd, chunk.content.data(), n, static_cast<off_t>(from)) : 0;
  int err = errno;
  ::close(fd);
  if (got < 0) return util::ErrnoStatus("read", path, err);
  chunk.content.resize(static_cast<size_t>(got));
  chunk.offset = from + static_cast<uint64_t>(got);
  return chunk;
}

}  // namespace runtrack::tasks
