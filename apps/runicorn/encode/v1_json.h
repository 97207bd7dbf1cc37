// Response bodies of the training service API (/api/v1, docs/API-v1.md) built from service
// results: shared by the HTTP handlers (handlers_v1.cpp) and the CLI's `users list --json`.
// Times are ISO-8601 UTC ("2023-03-08T12:00:00Z"); sizes in MiB rounded to 2 decimals.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "service/dataset_service.h"
#include "service/jwt.h"
#include "service/model_service.h"
#include "service/training_service.h"
#include "service/user_store.h"

namespace runicorn::encode {

// {"token", "expires_in", "token_type": "Bearer"}
boost::json::object V1Login(const service::IssuedToken& token);
// {"id", "name", "path", "created_at", "size_mb", "samples_count", "description"}
boost::json::object V1DatasetSummary(const service::DatasetInfo& d);
// {"datasets": [...], "count", "timestamp"}
boost::json::object V1DatasetList(const std::vector<service::DatasetInfo>& list, std::string_view timestamp);
// The summary plus "format", "columns", "source" (null for uploads).
boost::json::object V1DatasetDetail(const service::DatasetInfo& d);
// {"id", "name", "path", "uploaded_at", "size_mb", "samples_count", "description", "message"}
boost::json::object V1DatasetUploaded(const service::DatasetInfo& d);
// {"task_id", "status": "completed", "dataset_id", "output_path", "splits": {"train",
//  "validation", "test"}, "message", "processed_at"}
boost::json::object V1DatasetProcessed(const service::ProcessResult& r);
// {"users": [{"name", "created_at"}], "count"}
boost::json::object V1UserList(const std::vector<service::UserInfo>& users);

// POST /train: {"task_id", "status": "started", "message", "created_at"}
boost::json::object V1TrainStarted(const service::TrainStarted& t);
// GET /train/status/{id}: {"task_id", "status", "progress", "metrics", "started_at" (null while
// queued), "updated_at", "run_id", "model_path" (null until completed), "error" (failed only)}
boost::json::object V1TrainStatus(const service::JobStatus& s);
// POST /train/cancel/{id}: {"task_id", "status": "canceled", "message", "canceled_at"}
boost::json::object V1TrainCanceled(const service::JobCanceled& c);
// {"id", "name", "path", "base_model", "created_at", "size_mb", "description"}
boost::json::object V1ModelSummary(const service::ModelInfo& m);
// {"models": [...], "count", "timestamp"}
boost::json::object V1ModelList(const std::vector<service::ModelInfo>& list, std::string_view timestamp);
// The summary plus "dataset", "task_id", "training_config", "metrics", "last_used", "usage_count".
boost::json::object V1ModelDetail(const service::ModelInfo& m);
// POST /generate: {"prompt", "generated_texts", "model_path", "generation_time", "timestamp"}
boost::json::object V1Generated(const service::GenerateRequest& req, const service::GenerateResult& r,
                                std::string_view timestamp);
// POST /generate/batch: {"results": [{"prompt", "generated_texts"}], "model_path",
// "total_generation_time", "timestamp"}
boost::json::object V1GeneratedBatch(const service::GenerateRequest& req, const service::GenerateResult& r,
                                     std::string_view timestamp);

}  // namespace runicorn::encode
