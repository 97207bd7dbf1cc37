#include "encode/training_json.h"

#include <cmath>

#include <boost/json.hpp>

namespace runicorn::encode {
namespace json = boost::json;

namespace {

json::value OrNull(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json::value(*v) : json::value(nullptr);
}

}  // namespace

json::object TrainingJob(const service::JobSummary& j) {
  const service::JobStatus& s = j.status;
  json::object metrics;
  for (const auto& [k, v] : s.metrics)
    if (std::isfinite(v)) metrics[k] = v;  // JSON has no NaN
  auto loss = s.metrics.find("train_loss");
  return {{"task_id", s.task_id},
          {"status", s.status},
          {"progress", s.progress},
          {"metrics", std::move(metrics)},
          {"train_loss", loss == s.metrics.end() ? json::value(nullptr) : OrNull(loss->second)},
          {"run_id", s.run_id},
          {"model_path", s.model_id ? json::value(*s.model_id) : json::value(nullptr)},
          {"model_name", j.model_name},
          {"dataset", j.dataset},
          {"user", j.user},
          {"num_epochs", j.num_epochs},
          {"created_at", j.created_at},
          {"started_at", OrNull(s.started_at)},
          {"updated_at", s.updated_at},
          {"finished_at", OrNull(j.finished_at)},
          {"error", s.status == "failed" ? json::value(s.error) : json::value(nullptr)}};
}

json::object TrainingJobList(const std::vector<service::JobSummary>& jobs, bool trainer_configured) {
  json::array items;
  for (const auto& j : jobs) items.push_back(TrainingJob(j));
  return {{"jobs", std::move(items)}, {"count", jobs.size()}, {"trainer_configured", trainer_configured}};
}

}  // namespace runicorn::encode
