// The training service API's training routes (/api/v1/train, docs/API-v1.md): start a job, read
// its status, cancel it. Behind V1Gate (v1_gate.h), like handlers_v1.cpp; every error is the v1
// envelope. The jobs themselves are service/training_service.h's.
#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/v1_json.h"
#include "server/handlers.h"
#include "server/v1_envelope.h"
#include "server/v1_params.h"
#include "service/training_service.h"

namespace runicorn::server {
namespace json = boost::json;

namespace {

Response NotEnabled() {
  return V1Error(503, "The training service is not enabled: start the viewer with --llm-service FILE", "unavailable");
}

// A non-negative integer field, or the 400 to answer.
std::optional<Response> ReadSeed(const json::object& o, const char* field, std::optional<uint64_t>* out) {
  if (!o.contains(field) || o.at(field).is_null()) return std::nullopt;
  auto v = V1Integer(o, field);
  if (!v || *v < 0)
    return V1Error(400, fmt::format("Field '{}' must be a non-negative integer", field), "out_of_range", field);
  *out = static_cast<uint64_t>(*v);
  return std::nullopt;
}

}  // namespace

Response HandleV1Train(const AppContext& ctx, const Request& req) {
  V1Body body = ParseV1Body(req.body, {{"dataset_path", V1Type::kString, true},
                                       {"config", V1Type::kObject},
                                       {"lora_config", V1Type::kObject},
                                       {"base_model", V1Type::kString},
                                       {"seed", V1Type::kInteger}});
  if (body.error) return std::move(*body.error);
  service::TrainRequest t;
  t.dataset_path = *V1String(body.object, "dataset_path");
  t.user = req.Param("@user");
  if (const json::value* c = body.object.if_contains("config"); c != nullptr && c->is_object()) {
    const json::object& config = c->as_object();
    if (auto e = CheckV1Object(config,
                               {{"learning_rate", V1Type::kNumber},
                                {"batch_size", V1Type::kInteger},
                                {"num_epochs", V1Type::kInteger},
                                {"output_dir", V1Type::kString},
                                {"quantization", V1Type::kString, false, true}},
                               "config."))
      return std::move(*e);
    t.learning_rate = V1Number(config, "learning_rate").value_or(t.learning_rate);
    if (config.contains("batch_size") && !config.at("batch_size").is_null())
      t.batch_size = V1Integer(config, "batch_size").value_or(0);
    if (config.contains("num_epochs") && !config.at("num_epochs").is_null())
      t.num_epochs = V1Integer(config, "num_epochs").value_or(0);
    t.output_dir = V1String(config, "output_dir").value_or(t.output_dir);
    t.quantization = V1String(config, "quantization");
  }
  if (const json::value* l = body.object.if_contains("lora_config"); l != nullptr && l->is_object()) {
    const json::object& lora = l->as_object();
    if (auto e = CheckV1Object(lora,
                               {{"r", V1Type::kInteger}, {"lora_alpha", V1Type::kInteger}, {"lora_dropout", V1Type::kNumber}},
                               "lora_config."))
      return std::move(*e);
    t.lora = true;
    if (lora.contains("r") && !lora.at("r").is_null()) t.lora_r = V1Integer(lora, "r").value_or(0);
    if (lora.contains("lora_alpha") && !lora.at("lora_alpha").is_null())
      t.lora_alpha = V1Integer(lora, "lora_alpha").value_or(0);
    t.lora_dropout = V1Number(lora, "lora_dropout").value_or(t.lora_dropout);
  }
  t.base_model = V1String(body.object, "base_model");
  if (auto e = ReadSeed(body.object, "seed", &t.seed)) return std::move(*e);
  if (!ctx.services->training) return NotEnabled();
  service::FieldError error;
  auto started = ctx.services->training->Train(t, &error);
  if (!started.ok()) return V1ErrorFor(started.status(), error.field, error.reason);
  return Response::Json(encode::V1TrainStarted(*started));
}

Response HandleV1TrainStatus(const AppContext& ctx, const Request& req) {
  if (!ctx.services->training) return NotEnabled();
  auto s = ctx.services->training->GetStatus(req.Param("task_id"));
  if (!s.ok()) return V1ErrorFor(s.status(), "task_id");
  return Response::Json(encode::V1TrainStatus(*s));
}

Response HandleV1TrainCancel(const AppContext& ctx, const Request& req) {
  if (!req.body.empty()) {
    // Nothing to say in a cancel, but a body that is not an empty JSON object is a mistake.
    V1Body body = ParseV1Body(req.body, {});
    if (body.error) return std::move(*body.error);
  }
  if (!ctx.services->training) return NotEnabled();
  auto c = ctx.services->training->Cancel(req.Param("task_id"));
  if (!c.ok()) return V1ErrorFor(c.status(), "task_id");
  return Response::Json(encode::V1TrainCanceled(*c));
}

}  // namespace runicorn::server
