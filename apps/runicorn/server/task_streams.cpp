#include "server/task_streams.h"

#include <boost/json.hpp>

#include "encode/json_writer.h"
#include "encode/task_json.h"
#include "server/params.h"
#include "service/task_follow.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

namespace {

Result<service::TaskService*> Tasks(const AppContext& ctx) {
  if (!ctx.services || !ctx.services->tasks)
    return Status::NotFound("this viewer serves no task workspace (start it with --tasks-root DIR)");
  return ctx.services->tasks.get();
}

class TaskLogStream final : public StreamSource {
 public:
  explicit TaskLogStream(std::unique_ptr<service::TaskLogFollower> follower) : follower_(std::move(follower)) {}

  Result<std::vector<std::string>> Poll() override {
    RUNTRACK_ASSIGN_OR_RETURN(auto messages, follower_->Next());
    std::vector<std::string> out;
    out.reserve(messages.size());
    for (const auto& m : messages) out.push_back(encode::JsonText(encode::TaskLogMessage(follower_->task(), m)));
    return out;
  }

 private:
  std::unique_ptr<service::TaskLogFollower> follower_;
};

class TaskEventStream final : public StreamSource {
 public:
  explicit TaskEventStream(std::unique_ptr<service::TaskEventFollower> follower) : follower_(std::move(follower)) {}

  Result<std::vector<std::string>> Poll() override {
    RUNTRACK_ASSIGN_OR_RETURN(auto message, follower_->Next());
    std::vector<std::string> out;
    if (message) out.push_back(encode::JsonText(encode::TaskEventMessage(*message)));
    return out;
  }

 private:
  std::unique_ptr<service::TaskEventFollower> follower_;
};

}  // namespace

Result<std::unique_ptr<StreamSource>> MakeTaskLogStream(const AppContext& ctx, const Request& req) {
  RUNTRACK_ASSIGN_OR_RETURN(auto* svc, Tasks(ctx));
  service::TaskLogFollowOptions o;
  if (const std::string* f = req.query.Get("log_file_name")) o.log_file_name = *f;
  if (const std::string* id = req.query.Get("log_identity")) o.log_identity = *id;
  RUNTRACK_ASSIGN_OR_RETURN(auto offset, GetInt(req.query, "offset", 0, int64_t{1} << 50));
  if (offset) o.offset = static_cast<uint64_t>(*offset);
  RUNTRACK_ASSIGN_OR_RETURN(auto follower, service::TaskLogFollower::Open(*svc, req.Param("name"), std::move(o)));
  return std::unique_ptr<StreamSource>(std::make_unique<TaskLogStream>(std::move(follower)));
}

Result<std::unique_ptr<StreamSource>> MakeTaskEventStream(const AppContext& ctx, const Request&) {
  RUNTRACK_ASSIGN_OR_RETURN(auto* svc, Tasks(ctx));
  RUNTRACK_ASSIGN_OR_RETURN(auto follower, service::TaskEventFollower::Open(*svc));
  return std::unique_ptr<StreamSource>(std::make_unique<TaskEventStream>(std::move(follower)));
}

}  // namespace runicorn::server
