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

}  // namespace runicorn::encode
