// The web UI's Training page (GET /api/training/jobs, docs/API.md "Training jobs"): the training
// service API's jobs (service/training_service.h) under the viewer's own auth and error body, since
// the UI has no /api/v1 login. Read-only: starting and canceling jobs stays with /api/v1.
#include "encode/task_json.h"
#include "encode/training_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"
#include "server/training_log_forwarding.h"
#include "service/training_service.h"

namespace runicorn::server {

Response HandleListTrainingJobs(const AppContext& ctx, const Request&) {
  // A viewer without a training service has no jobs to show (the service lists them from disk
  // whether or not a trainer is configured).
  if (!ctx.services->training) return Response::Json(encode::TrainingJobList({}, false));
  RUNICORN_ASSIGN_OR_RESPOND(auto jobs, ctx.services->training->ListJobs());
  return Response::Json(encode::TrainingJobList(jobs, !ctx.services->training->config().trainer.empty()));
}

Response HandleTrainingJobLog(const AppContext& ctx, const Request& req) {
  if (!ctx.services->training) return Response::Error(404, "this viewer serves no training jobs");
  runtrack::TaskLogQuery q;
  if (const std::string* id = req.query.Get("log_identity")) q.log_identity = *id;
  RUNICORN_ASSIGN_PARAM_OR_422(auto offset, GetInt(req.query, "offset", 0, int64_t{1} << 50));
  RUNICORN_ASSIGN_PARAM_OR_422(auto tail, GetInt(req.query, "tail_bytes", 1, 4 << 20));
  if (offset) q.offset = static_cast<uint64_t>(*offset);
  q.max_bytes = static_cast<size_t>(tail.value_or(50000));
  const std::string& id = req.Param("task_id");
  auto chunk = ctx.services->training->ReadJobLog(id, q);
  // Another replica runs the job: its log is on that replica's disk, and read from there
  // (training_log_forwarding.h). Parameters were checked first, so bad ones are refused here.
  if (!chunk.ok() && chunk.status().code() == runtrack::StatusCode::kFailedPrecondition && ctx.training_log_forwarding)
    if (auto forwarded = ctx.training_log_forwarding->Route(req, id)) return std::move(*forwarded);
  RUNICORN_ASSIGN_OR_RESPOND(auto log, std::move(chunk));
  return Response::Json(encode::TaskLog(id, log));
}

}  // namespace runicorn::server
