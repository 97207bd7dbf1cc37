// The training service API's model routes (/api/v1/models, /api/v1/generate, docs/API-v1.md).
// Behind V1Gate (v1_gate.h); every error is the v1 envelope. Generation runs the configured
// generator synchronously (service/model_service.h): routes.cpp marks the generate routes heavy,
// so the request holds a worker-pool thread meanwhile, never an I/O thread, and the training
// service's GenerationGate bounds how many run and wait (past that: 503 with Retry-After).
#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/v1_json.h"
#include "server/handlers.h"
#include "server/v1_envelope.h"
#include "server/v1_params.h"
#include "service/iso_time.h"
#include "service/model_service.h"
#include "service/training_service.h"

namespace runicorn::server {
namespace json = boost::json;

namespace {

const std::vector<V1Field>& SamplingFields() {
  static const std::vector<V1Field> fields = {{"model_path", V1Type::kString, false, true},
                                              {"max_length", V1Type::kInteger},
                                              {"temperature", V1Type::kNumber},
                                              {"top_p", V1Type::kNumber},
                                              {"top_k", V1Type::kInteger},
                                              {"num_return_sequences", V1Type::kInteger},
                                              {"seed", V1Type::kInteger}};
  return fields;
}

std::vector<V1Field> With(V1Field first) {
  std::vector<V1Field> out{std::move(first)};
  out.insert(out.end(), SamplingFields().begin(), SamplingFields().end());
  return out;
}

// The sampling parameters of a checked body, or the 400 to answer.
std::optional<Response> ReadSampling(const json::object& o, service::GenerateRequest* r) {
  r->model_path = V1String(o, "model_path");
  auto integer = [&](const char* name, int64_t* out) {
    if (o.contains(name) && !o.at(name).is_null()) *out = V1Integer(o, name).value_or(-1);
  };
  integer("max_length", &r->max_length);
  integer("top_k", &r->top_k);
  integer("num_return_sequences", &r->num_return_sequences);
  r->temperature = V1Number(o, "temperature").value_or(r->temperature);
  r->top_p = V1Number(o, "top_p").value_or(r->top_p);
  if (o.contains("seed") && !o.at("seed").is_null()) {
    auto seed = V1Integer(o, "seed");
    if (!seed || *seed < 0) return V1Error(400, "Field 'seed' must be a non-negative integer", "out_of_range", "seed");
    r->seed = static_cast<uint64_t>(*seed);
  }
  if (auto bad = service::ValidateGenerate(*r)) return V1Error(400, bad->second, "out_of_range", bad->first);
  return std::nullopt;
}

std::optional<Response> CheckPrompt(const std::string& prompt, const std::string& field) {
  if (prompt.empty()) return V1Error(400, fmt::format("Field '{}' must not be empty", field), "required", field);
  if (prompt.size() > service::ModelService::kMaxPromptBytes)
    return V1Error(400, fmt::format("Field '{}' exceeds {} bytes", field, service::ModelService::kMaxPromptBytes),
                   "too_long", field);
  return std::nullopt;
}

// Runs the generation and maps its errors: a bad or unknown model_path names that field.
runtrack::Result<service::GenerateResult> Run(const AppContext& ctx, const service::GenerateRequest& r,
                                              std::optional<Response>* refusal) {
  if (!ctx.services->training) {
    *refusal = V1Error(503, "The training service is not enabled: start the viewer with --llm-service FILE",
                       "unavailable");
    return runtrack::Status::Busy("not enabled");
  }
  service::ModelService models(ctx.services->layout, ctx.services->dataset_artifacts);
  int retry_after = 0;
  auto out = models.Generate(r, ctx.services->training->config(), &ctx.services->training->generations(), &retry_after);
  if (!out.ok()) {
    if (retry_after > 0) {
      *refusal = V1Error(503, out.status().message(), "busy");
      (*refusal)->AddHeader("Retry-After", std::to_string(retry_after));
      return out;
    }
    const auto code = out.status().code();
    const bool about_model = code == runtrack::StatusCode::kNotFound || code == runtrack::StatusCode::kInvalidArgument;
    *refusal = V1ErrorFor(out.status(), about_model ? "model_path" : "");
  }
  return out;
}

}  // namespace

Response HandleV1ListModels(const AppContext& ctx, const Request&) {
  // Jobs that completed since the last sweep show their model at once.
  if (ctx.services->training) (void)ctx.services->training->FinalizeCompleted();
  service::ModelService models(ctx.services->layout, ctx.services->dataset_artifacts);
  auto list = models.List();
  if (!list.ok()) return V1ErrorFor(list.status());
  return Response::Json(encode::V1ModelList(*list, service::NowIsoUtc()));
}

Response HandleV1GetModel(const AppContext& ctx, const Request& req) {
  service::ModelService models(ctx.services->layout, ctx.services->dataset_artifacts);
  auto m = models.Get(req.Param("model_id"));
  if (!m.ok()) return V1ErrorFor(m.status(), "model_id");
  return Response::Json(encode::V1ModelDetail(*m));
}

Response HandleV1Generate(const AppContext& ctx, const Request& req) {
  V1Body body = ParseV1Body(req.body, With({"prompt", V1Type::kString, true}));
  if (body.error) return std::move(*body.error);
  service::GenerateRequest r;
  r.prompts = {*V1String(body.object, "prompt")};
  if (auto e = CheckPrompt(r.prompts[0], "prompt")) return std::move(*e);
  if (auto e = ReadSampling(body.object, &r)) return std::move(*e);
  std::optional<Response> refusal;
  auto out = Run(ctx, r, &refusal);
  if (refusal) return std::move(*refusal);
  return Response::Json(encode::V1Generated(r, *out, service::NowIsoUtc()));
}

Response HandleV1GenerateBatch(const AppContext& ctx, const Request& req) {
  V1Body body = ParseV1Body(req.body, With({"prompts", V1Type::kArray, true}));
  if (body.error) return std::move(*body.error);
  service::GenerateRequest r;
  const json::array& prompts = body.object.at("prompts").as_array();
  if (prompts.empty()) return V1Error(400, "Field 'prompts' must not be empty", "required", "prompts");
  if (prompts.size() > service::ModelService::kMaxPrompts)
    return V1Error(400, fmt::format("Field 'prompts' holds more than {} prompts", service::ModelService::kMaxPrompts),
                   "too_long", "prompts");
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::string field = fmt::format("prompts[{}]", i);
    if (!prompts[i].is_string())
      return V1Error(400, fmt::format("Field '{}' must be a string", field), "invalid_type", field);
    r.prompts.emplace_back(prompts[i].as_string());
    if (auto e = CheckPrompt(r.prompts.back(), field)) return std::move(*e);
  }
  if (auto e = ReadSampling(body.object, &r)) return std::move(*e);
  std::optional<Response> refusal;
  auto out = Run(ctx, r, &refusal);
  if (refusal) return std::move(*refusal);
  return Response::Json(encode::V1GeneratedBatch(r, *out, service::NowIsoUtc()));
}

}  // namespace runicorn::server
