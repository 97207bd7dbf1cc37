// Incremental readers behind the task runner's WebSockets (server/task_streams.h): a task's live
// log and the workspace's task changes. Each Next() returns what is new since the previous call.
//
// Both watch the workspace through its task index (Workspace::ChangesSince), which costs two
// stat(2)s per call when nothing changed and sees changes made by any process (a CLI runner too):
// polling that is as cheap as a notification from this process's runner, and unlike one it also
// covers runners elsewhere. The log follower then stats only its log file; it reads the log only
// when the file grew or changed.
//
// Both fail with FailedPrecondition("Workspace changed") once the service has switched to another
// workspace (Pyruns closes its streams then too).
//
// Thread safety: one follower per stream, used by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "runtrack/tasks.h"
#include "service/task_service.h"

namespace runicorn::service {

struct TaskLogMessage {
  bool reset = false;         // drop what was shown: `content` starts `log_file_name` at byte 0
  std::string log_file_name;  // "run2.log"
  std::string log_identity;   // as the logs route returns it
  std::string content;        // whole UTF-8 characters only
  uint64_t offset = 0;        // file position just past `content`
};

struct TaskLogFollowOptions {
  // Empty: follow the task's current run, `run<run_index>.log`, switching (a reset) when a new
  // run starts. Else that log only: runN.log, error.log or queue.log.
  std::string log_file_name;
  // Unset: start with the log's last kFirstTailBytes. Set: catch up from there (a reset when
  // `log_identity` no longer names the file).
  std::optional<uint64_t> offset;
  std::string log_identity;
};

class TaskLogFollower {
 public:
  static constexpr size_t kFirstTailBytes = 1u << 20;
  static constexpr size_t kChunkBytes = 64u << 10;
  static constexpr int kChunksPerCall = 4;

  // NotFound when the task does not exist; InvalidArgument for a bad task or log name.
  static runtrack::Result<std::unique_ptr<TaskLogFollower>> Open(TaskService& tasks, const std::string& task,
                                                                 TaskLogFollowOptions options);

  // New content, at most kChunksPerCall messages. NotFound once the task is gone (deleted or
  // renamed).
  runtrack::Result<std::vector<TaskLogMessage>> Next();

  const std::string& task() const { return task_; }

 private:
  TaskLogFollower(TaskService& tasks, std::shared_ptr<runtrack::Workspace> ws, std::string task,
                  TaskLogFollowOptions options);
  // Which log to follow now; a different one than before starts with a reset.
  runtrack::Status UpdateTarget();

  TaskService& tasks_;
  std::shared_ptr<runtrack::Workspace> ws_;
  std::string task_;
  std::string fixed_log_;
  std::string log_;            // followed now; empty until the task has a run
  std::optional<uint64_t> offset_;
  std::string identity_;
  bool pending_reset_ = false;
  bool started_ = false;
  bool caught_up_ = false;     // the last read reached the end of the file
  uint64_t revision_ = 0;
  // The file as last read: when its inode and size still match, there is nothing to read.
  uint64_t seen_ino_ = 0;
  uint64_t seen_size_ = 0;
};

struct TaskEventMessage {
  std::string type;  // "ready" | "changed" | "heartbeat"
  uint64_t revision = 0;
  bool truncated = false;                   // changed: more happened than is kept; refetch
  std::vector<runtrack::TaskChange> changes;  // changed: in order
};

class TaskEventFollower {
 public:
  static runtrack::Result<std::unique_ptr<TaskEventFollower>> Open(
      TaskService& tasks, std::chrono::milliseconds heartbeat = std::chrono::seconds(15));

  // "ready" on the first call; then "changed" (everything since the previous message, coalesced)
  // or, after `heartbeat` without a message, "heartbeat"; else nothing.
  runtrack::Result<std::optional<TaskEventMessage>> Next();

 private:
  TaskEventFollower(TaskService& tasks, std::shared_ptr<runtrack::Workspace> ws, std::chrono::milliseconds heartbeat)
      : tasks_(tasks), ws_(std::move(ws)), heartbeat_(heartbeat) {}

  TaskService& tasks_;
  std::shared_ptr<runtrack::Workspace> ws_;
  std::chrono::milliseconds heartbeat_;
  bool started_ = false;
  uint64_t revision_ = 0;
  std::chrono::steady_clock::time_point last_sent_{};
};

// `text` made safe to send as whole characters: an incomplete UTF-8 sequence at the end is cut
// off (its length returned in `held_back`, to be read again with what follows), and with
// `skip_leading_continuation`, continuation bytes at the start (a tail read that began inside a
// character) are dropped (their count in `skipped`).
std::string WholeUtf8(std::string text, bool skip_leading_continuation, size_t* held_back, size_t* skipped);

}  // namespace runicorn::service
