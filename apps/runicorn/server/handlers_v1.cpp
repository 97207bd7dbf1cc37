// The training service API's handlers (/api/v1, docs/API-v1.md): login and datasets. V1Gate
// (v1_gate.h) has authenticated the request and put the user's name in req.Param("@user");
// every error answered here is the v1 envelope.
#include <chrono>

#include <boost/json.hpp>

#include "encode/v1_json.h"
#include "server/handlers.h"
#include "server/multipart.h"
#include "server/v1_envelope.h"
#include "server/v1_params.h"
#include "service/dataset_service.h"
#include "service/iso_time.h"
#include "service/jwt.h"
#include "service/user_store.h"

namespace runicorn::server {

namespace {

Response FromFieldError(const runtrack::Status& status, const service::FieldError& error) {
  if (status.code() == runtrack::StatusCode::kInvalidArgument)
    return V1Error(400, status.message(), error.reason.empty() ? "invalid" : error.reason, error.field);
  return V1ErrorFor(status);
}

}  // namespace

Response HandleV1Login(const AppContext& ctx, const Request& req) {
  V1Body body = ParseV1Body(req.body, {{"username", V1Type::kString, true}, {"password", V1Type::kString, true}});
  if (body.error) return std::move(*body.error);
  auto user = ctx.services->users->Authenticate(*V1String(body.object, "username"), *V1String(body.object, "password"));
  if (!user.ok()) return V1ErrorFor(user.status());
  if (!*user) {
    // One answer for an unknown name and a wrong password: which names exist is not revealed.
    Response r = V1Error(401, "Invalid username or password", "invalid_credentials");
    r.AddHeader("WWW-Authenticate", "Bearer");
    return r;
  }
  auto issuer = service::TokenIssuer::Open(*ctx.services->users);
  if (!issuer.ok()) return V1ErrorFor(issuer.status());
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  Response r = Response::Json(encode::V1Login(issuer->Issue(**user, now)));
  r.AddHeader("Cache-Control", "no-store");
  return r;
}

Response HandleV1ListDatasets(const AppContext& ctx, const Request&) {
  service::DatasetService datasets(ctx.services->layout, ctx.services->dataset_artifacts);
  auto list = datasets.List();
  if (!list.ok()) return V1ErrorFor(list.status());
  return Response::Json(encode::V1DatasetList(*list, service::NowIsoUtc()));
}

Response HandleV1GetDataset(const AppContext& ctx, const Request& req) {
  service::DatasetService datasets(ctx.services->layout, ctx.services->dataset_artifacts);
  auto d = datasets.Get(req.Param("dataset_id"));
  if (!d.ok()) return V1ErrorFor(d.status(), d.status().code() == runtrack::StatusCode::kInvalidArgument ? "dataset_id" : "");
  return Response::Json(encode::V1DatasetDetail(*d));
}

Response HandleV1UploadDataset(const AppContext& ctx, const Request& req) {
  auto boundary = MultipartBoundary(req.Header("content-type"));
  if (!boundary.ok()) return V1Error(400, boundary.status().message(), "invalid_multipart", "Content-Type");
  auto parts = ParseMultipart(req.body, *boundary);
  if (!parts.ok()) return V1Error(400, parts.status().message(), "invalid_multipart");
  service::DatasetUpload upload;
  upload.uploaded_by = req.Param("@user");
  bool has_file = false, has_name = false;
  for (const auto& p : *parts) {
    if (p.name == "file") {
      has_file = true;
      upload.content = std::string(p.body);
    } else if (p.name == "name") {
      has_name = true;
      upload.name = std::string(p.body);
    } else if (p.name == "description") {
      upload.description = std::string(p.body);
    } else if (p.name == "format") {
      upload.format = std::string(p.body);
    } else {
      return V1Error(400, "Unknown field '" + p.name + "'", "unknown_field", p.name);
    }
  }
  if (!has_file) return V1Error(400, "Field 'file' is required", "required", "file");
  if (!has_name) return V1Error(400, "Field 'name' is required", "required", "name");
  service::DatasetService datasets(ctx.services->layout, ctx.services->dataset_artifacts);
  service::FieldError error;
  auto d = datasets.Upload(upload, &error);
  if (!d.ok()) return FromFieldError(d.status(), error);
  return Response::Json(encode::V1DatasetUploaded(*d));
}

Response HandleV1ProcessDataset(const AppContext& ctx, const Request& req) {
  V1Body body = ParseV1Body(req.body, {{"dataset_id", V1Type::kString, true},
                                       {"output_name", V1Type::kString, true},
                                       {"train_ratio", V1Type::kNumber},
                                       {"val_ratio", V1Type::kNumber},
                                       {"test_ratio", V1Type::kNumber},
                                       {"template", V1Type::kString},
                                       {"seed", V1Type::kInteger}});
  if (body.error) return std::move(*body.error);
  service::ProcessRequest p;
  p.dataset_id = *V1String(body.object, "dataset_id");
  p.output_name = *V1String(body.object, "output_name");
  p.train_ratio = V1Number(body.object, "train_ratio").value_or(p.train_ratio);
  p.val_ratio = V1Number(body.object, "val_ratio").value_or(p.val_ratio);
  p.test_ratio = V1Number(body.object, "test_ratio").value_or(p.test_ratio);
  p.prompt_template = V1String(body.object, "template");
  if (body.object.contains("seed") && !body.object.at("seed").is_null()) {
    auto seed = V1Integer(body.object, "seed");
    if (!seed || *seed < 0) return V1Error(400, "Field 'seed' must be a non-negative integer", "out_of_range", "seed");
    p.seed = static_cast<uint64_t>(*seed);
  }
  p.processed_by = req.Param("@user");
  service::DatasetService datasets(ctx.services->layout, ctx.services->dataset_artifacts);
  service::FieldError error;
  auto r = datasets.Process(p, &error);
  if (!r.ok()) return FromFieldError(r.status(), error);
  return Response::Json(encode::V1DatasetProcessed(*r));
}

}  // namespace runicorn::server
