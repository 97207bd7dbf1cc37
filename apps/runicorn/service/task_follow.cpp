#include "service/task_follow.h"

#include <sys/stat.h>

#include <fmt/format.h>

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr uint64_t kNoChanges = UINT64_MAX;

// runN.log (N ≥ 1, no leading zero), error.log or queue.log: the names ReadTaskLog serves.
bool IsTaskLogName(const std::string& f) {
  if (f == "error.log" || f == "queue.log") return true;
  if (f.size() < 8 || f.compare(0, 3, "run") != 0 || f.compare(f.size() - 4, 4, ".log") != 0) return false;
  std::string digits = f.substr(3, f.size() - 7);
  return !digits.empty() && digits.size() <= 9 && digits[0] != '0' &&
         digits.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string WholeUtf8(std::string text, bool skip_leading_continuation, size_t* held_back, size_t* skipped) {
  size_t skip = 0;
  if (skip_leading_continuation)
    while (skip < text.size() && skip < 3 && (static_cast<unsigned char>(text[skip]) & 0xC0) == 0x80) ++skip;
  size_t held = 0;
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n - skip; ++back) {
    unsigned char b = static_cast<unsigned char>(text[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // a continuation byte: its lead is further back
    size_t need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
    if (need > back) held = back;
    break;
  }
  if (held_back) *held_back = held;
  if (skipped) *skipped = skip;
  text.erase(n - held);
  text.erase(0, skip);
  return text;
}

// ---------------------------------------------------------------------------------------------

TaskLogFollower::TaskLogFollower(TaskService& tasks, std::shared_ptr<runtrack::Workspace> ws, std::string task,
                                 TaskLogFollowOptions options)
    : tasks_(tasks),
      ws_(std::move(ws)),
      task_(std::move(task)),
      fixed_log_(std::move(options.log_file_name)),
      offset_(options.offset),
      identity_(std::move(options.log_identity)) {}

Result<std::unique_ptr<TaskLogFollower>> TaskLogFollower::Open(TaskService& tasks, const std::string& task,
                                                               TaskLogFollowOptions options) {
  RUNTRACK_RETURN_IF_ERROR(runtrack::CheckTaskName(task));
  if (!options.log_file_name.empty() && !IsTaskLogName(options.log_file_name))
    return Status::InvalidArgument(
        fmt::format("'{}' is not a task log (runN.log, error.log, queue.log)", options.log_file_name));
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, tasks.SharedWorkspace());
  // Changes from now on; what exists is read below.
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskChanges now, ws->ChangesSince(kNoChanges));
  std::unique_ptr<TaskLogFollower> f(new TaskLogFollower(tasks, std::move(ws), task, std::move(options)));
  f->revision_ = now.revision;
  RUNTRACK_RETURN_IF_ERROR(f->UpdateTarget());
  return f;
}

Status TaskLogFollower::UpdateTarget() {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskSummary t, ws_->GetTask(task_));
  std::string want = fixed_log_;
  if (want.empty() && t.run_index > 0) want = fmt::format("run{}.log", t.run_index);
  if (want == log_) return Status::Ok();
  // At the start the client's offset/identity apply to the log followed; a later switch (a new
  // run) is another file than the one the client has: it starts over from byte 0.
  const bool initial = !started_ && log_.empty();
  if (!initial) {
    offset_ = 0;
    identity_.clear();
    pending_reset_ = true;
  }
  log_ = std::move(want);
  caught_up_ = false;
  return Status::Ok();
}

Result<std::vector<TaskLogMessage>> TaskLogFollower::Next() {
  std::vector<TaskLogMessage> out;
  if (!tasks_.IsCurrent(ws_.get())) return Status::FailedPrecondition("Workspace changed");
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskChanges changes, ws_->ChangesSince(revision_));
  bool mine = changes.truncated;
  for (const auto& c : changes.changes) {
    if ((c.event == "deleted" && c.name == task_) || (c.event == "renamed" && c.old_name == task_))
      return Status::NotFound(fmt::format("task '{}' was {}", task_, c.event));
    mine = mine || c.name == task_;
  }
  revision_ = changes.revision;
  if (mine) RUNTRACK_RETURN_IF_ERROR(UpdateTarget());
  started_ = true;
  if (log_.empty()) return out;

  const std::filesystem::path path = ws_->dir() / "tasks" / task_ / "run_logs" / log_;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return out;  // the run has not created it yet
  const uint64_t ino = static_cast<uint64_t>(st.st_ino), size = static_cast<uint64_t>(st.st_size);
  if (caught_up_ && !pending_reset_ && ino == seen_ino_ && size == seen_size_) return out;
  seen_ino_ = ino;
  seen_size_ = size;

  for (int k = 0; k < kChunksPerCall; ++k) {
    runtrack::TaskLogQuery q;
    q.log_file_name = log_;
    q.offset = offset_;
    q.log_identity = identity_;
    q.max_bytes = offset_ ? kChunkBytes : kFirstTailBytes;
    auto chunk = ws_->ReadTaskLog(task_, q);
    if (!chunk.ok()) {
      // Gone between the stat and the read (a rotation): the next call looks again; a deleted
      // task is reported through the change feed.
      if (chunk.status().code() == runtrack::StatusCode::kNotFound) return out;
      return chunk.status();
    }
    const size_t got = chunk->content.size();
    const uint64_t start = chunk->offset - got;
    size_t held = 0;
    std::string text = WholeUtf8(std::move(chunk->content), !offset_ && start > 0, &held, nullptr);
    const bool reset = pending_reset_ || chunk->reset;
    pending_reset_ = false;
    offset_ = chunk->offset - held;
    identity_ = chunk->log_identity;
    if (!text.empty() || reset) out.push_back({reset, log_, identity_, std::move(text), *offset_});
    caught_up_ = got < q.max_bytes;
    if (caught_up_) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<TaskEventFollower>> TaskEventFollower::Open(TaskService& tasks,
                                                                   std::chrono::milliseconds heartbeat) {
  RUNTRACK_ASSIGN_OR_RETURN(auto ws, tasks.SharedWorkspace());
  return std::unique_ptr<TaskEventFollower>(new TaskEventFollower(tasks, std::move(ws), heartbeat));
}

Result<std::optional<TaskEventMessage>> TaskEventFollower::Next() {
  if (!tasks_.IsCurrent(ws_.get())) return Status::FailedPrecondition("Workspace changed");
  const auto now = std::chrono::steady_clock::now();
  TaskEventMessage m;
  if (!started_) {
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskChanges c, ws_->ChangesSince(kNoChanges));
    started_ = true;
    revision_ = c.revision;
    last_sent_ = now;
    m.type = "ready";
    m.revision = revision_;
    return std::optional<TaskEventMessage>(std::move(m));
  }
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskChanges c, ws_->ChangesSince(revision_));
  revision_ = c.revision;
  if (c.truncated || !c.changes.empty()) {
    m.type = "changed";
    m.truncated = c.truncated;
    m.changes = std::move(c.changes);
  } else if (now - last_sent_ >= heartbeat_) {
    m.type = "heartbeat";
  } else {
    return std::optional<TaskEventMessage>();
  }
  m.revision = revision_;
  last_sent_ = now;
  return std::optional<TaskEventMessage>(std::move(m));
}

}  // namespace runicorn::service
