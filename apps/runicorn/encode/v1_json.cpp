#include "encode/v1_json.h"

#include <cmath>

#include <boost/json.hpp>

#include "service/iso_time.h"

namespace runicorn::encode {
namespace json = boost::json;

namespace {
double SizeMb(uint64_t bytes) { return std::round(static_cast<double>(bytes) / (1024.0 * 1024.0) * 100.0) / 100.0; }
}  // namespace

json::object V1Login(const service::IssuedToken& token) {
  return {{"token", token.token}, {"expires_in", token.expires_in}, {"token_type", "Bearer"}};
}

json::object V1DatasetSummary(const service::DatasetInfo& d) {
  return {{"id", d.id},
          {"name", d.name},
          {"path", d.path},
          {"created_at", service::FormatIsoUtc(d.created_at)},
          {"size_mb", SizeMb(d.size_bytes)},
          {"samples_count", d.samples_count},
          {"description", d.description}};
}

json::object V1DatasetList(const std::vector<service::DatasetInfo>& list, std::string_view timestamp) {
  json::array items;
  for (const auto& d : list) items.push_back(V1DatasetSummary(d));
  return {{"datasets", std::move(items)}, {"count", list.size()}, {"timestamp", timestamp}};
}

json::object V1DatasetDetail(const service::DatasetInfo& d) {
  json::object o = V1DatasetSummary(d);
  o["format"] = d.format;
  json::array cols;
  for (const auto& c : d.columns) cols.emplace_back(c);
  o["columns"] = std::move(cols);
  o["source"] = d.source.empty() ? json::value(nullptr) : json::value(d.source);
  return o;
}

json::object V1DatasetUploaded(const service::DatasetInfo& d) {
  return {{"id", d.id},
          {"name", d.name},
          {"path", d.path},
          {"uploaded_at", service::FormatIsoUtc(d.created_at)},
          {"size_mb", SizeMb(d.size_bytes)},
          {"samples_count", d.samples_count},
          {"description", d.description},
          {"message", "Dataset uploaded"}};
}

json::object V1DatasetProcessed(const service::ProcessResult& r) {
  return {{"task_id", r.task_id},
          {"status", "completed"},
          {"dataset_id", r.dataset_id},
          {"output_path", r.output.id},
          {"splits", json::object{{"train", r.train}, {"validation", r.validation}, {"test", r.test}}},
          {"message", "Dataset processed"},
          {"processed_at", service::FormatIsoUtc(r.processed_at)}};
}

json::object V1UserList(const std::vector<service::UserInfo>& users) {
  json::array items;
  for (const auto& u : users) items.push_back(json::object{{"name", u.name}, {"created_at", u.created_at}});
  return {{"users", std::move(items)}, {"count", users.size()}};
}

namespace {
json::value IsoOrNull(const std::optional<double>& t) {
  return t ? json::value(service::FormatIsoUtc(*t)) : json::value(nullptr);
}
json::object MetricObject(const std::map<std::string, double>& metrics) {
  json::object o;
  for (const auto& [k, v] : metrics)
    if (std::isfinite(v)) o[k] = v;  // JSON has no NaN
  return o;
}
json::array Texts(const std::vector<std::string>& texts) {
  json::array a;
  for (const auto& t : texts) a.emplace_back(t);
  return a;
}
double Seconds(double s) { return std::round(s * 1000.0) / 1000.0; }
}  // namespace

json::object V1TrainStarted(const service::TrainStarted& t) {
  return {{"task_id", t.task_id},
          {"status", "started"},
          {"message", "Training job started"},
          {"created_at", service::FormatIsoUtc(t.created_at)}};
}

json::object V1TrainStatus(const service::JobStatus& s) {
  json::object o{{"task_id", s.task_id},
                 {"status", s.status},
                 {"progress", s.progress},
                 {"metrics", MetricObject(s.metrics)},
                 {"started_at", IsoOrNull(s.started_at)},
                 {"updated_at", service::FormatIsoUtc(s.updated_at)},
                 {"run_id", s.run_id},
                 {"model_path", s.model_id ? json::value(*s.model_id) : json::value(nullptr)}};
  if (s.status == "failed") o["error"] = s.error;
  return o;
}

json::object V1TrainCanceled(const service::JobCanceled& c) {
  return {{"task_id", c.task_id},
          {"status", "canceled"},
          {"message", "Training job canceled"},
          {"canceled_at", service::FormatIsoUtc(c.canceled_at)}};
}

json::object V1ModelSummary(const service::ModelInfo& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"path", m.path},
          {"base_model", m.base_model ? json::value(*m.base_model) : json::value(nullptr)},
          {"created_at", service::FormatIsoUtc(m.created_at)},
          {"size_mb", SizeMb(m.size_bytes)},
          {"description", m.description}};
}

json::object V1ModelList(const std::vector<service::ModelInfo>& list, std::string_view timestamp) {
  json::array items;
  for (const auto& m : list) items.push_back(V1ModelSummary(m));
  return {{"models", std::move(items)}, {"count", list.size()}, {"timestamp", timestamp}};
}

json::object V1ModelDetail(const service::ModelInfo& m) {
  json::object o = V1ModelSummary(m);
  o["dataset"] = m.dataset.empty() ? json::value(nullptr) : json::value(m.dataset);
  o["task_id"] = m.task_id.empty() ? json::value(nullptr) : json::value(m.task_id);
  json::object tc;
  const auto& c = m.training_config;
  if (c.learning_rate) tc["learning_rate"] = *c.learning_rate;
  if (c.batch_size) tc["batch_size"] = *c.batch_size;
  if (c.num_epochs) tc["num_epochs"] = *c.num_epochs;
  if (c.lora_r) tc["lora_r"] = *c.lora_r;
  if (c.lora_alpha) tc["lora_alpha"] = *c.lora_alpha;
  if (c.lora_dropout) tc["lora_dropout"] = *c.lora_dropout;
  if (c.quantization) tc["quantization"] = *c.quantization;
  o["training_config"] = std::move(tc);
  o["metrics"] = MetricObject(m.metrics);
  o["last_used"] = IsoOrNull(m.last_used);
  o["usage_count"] = m.usage_count;
  return o;
}

json::object V1Generated(const service::GenerateRequest& req, const service::GenerateResult& r,
                         std::string_view timestamp) {
  return {{"prompt", req.prompts.at(0)},
          {"generated_texts", Texts(r.texts.at(0))},
          {"model_path", r.model_path},
          {"generation_time", Seconds(r.seconds)},
          {"timestamp", timestamp}};
}

json::object V1GeneratedBatch(const service::GenerateRequest& req, const service::GenerateResult& r,
                              std::string_view timestamp) {
  json::array results;
  for (size_t i = 0; i < req.prompts.size() && i < r.texts.size(); ++i)
    results.push_back(json::object{{"prompt", req.prompts[i]}, {"generated_texts", Texts(r.texts[i])}});
  return {{"results", std::move(results)},
          {"model_path", r.model_path},
          {"total_generation_time", Seconds(r.seconds)},
          {"timestamp", timestamp}};
}

}  // namespace runicorn::encode
