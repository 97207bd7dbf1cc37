// Response bodies of the training service API (/api/v1, docs/API-v1.md) built from service
// results: shared by the HTTP handlers (handlers_v1.cpp) and the CLI's `users list --json`.
// Times are ISO-8601 UTC ("2023-03-08T12:00:00Z"); sizes in MiB rounded to 2 decimals.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "service/dataset_service.h"
#include "service/jwt.h"
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

}  // namespace runicorn::encode
