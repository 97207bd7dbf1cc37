// Response bodies of the viewer's Training page routes (GET /api/training/jobs, docs/API.md
// "Training jobs"): the training service API's jobs (training_service.h) in the viewer API's own
// style (unix-second times), for the web UI, which holds no /api/v1 token.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "service/training_service.h"

namespace runicorn::encode {

// {"task_id", "status", "progress", "metrics", "train_loss" (null until logged), "run_id",
//  "model_path" (null until completed), "model_name", "dataset", "user", "num_epochs",
//  "created_at", "started_at", "updated_at", "finished_at" (unix seconds; null when not yet),
//  "error" (null unless failed)}
boost::json::object TrainingJob(const service::JobSummary& j);
// {"jobs": [...], "count", "trainer_configured"}
boost::json::object TrainingJobList(const std::vector<service::JobSummary>& jobs, bool trainer_configured);

}  // namespace runicorn::encode
