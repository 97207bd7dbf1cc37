// GET /api/export/{id}/csv and /api/export/{id}/json: every point of every metric (or those asked
// for with metrics= / step_range=), plus the run's metadata for JSON. The body is streamed a page
// of rows at a time (encode/export_stream.h), so an export of any size holds one page in memory.
#include <fmt/format.h>

#include "encode/export_stream.h"
#include "server/bodies.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/metric_params.h"
#include "server/read_forwarding.h"

namespace runicorn::server {

namespace {

Response StreamExport(const AppContext& ctx, const Request& req, encode::ExportStream::Format format) {
  const std::string& id = req.Param("run_id");
  auto q = ParseMetricTableQuery(req.query);
  if (!q.ok()) return Response::Error(422, q.status().message());
  RUNICORN_ASSIGN_OR_RESPOND(std::unique_ptr<encode::ExportStream> stream,
                             encode::ExportStream::Start(*ctx.services, id, *q, format, NowSeconds()));
  // The body owns the stream; the services it reads outlive every connection.
  auto body = std::make_shared<GeneratedBody>(
      [stream = std::shared_ptr<encode::ExportStream>(std::move(stream))](std::string* out) {
        return stream->Next(*out);
      });
  const bool csv = format == encode::ExportStream::Format::kCsv;
  Response resp = Response::Stream(std::move(body), csv ? "text/csv; charset=utf-8" : "application/json");
  resp.AddHeader("Content-Disposition",
                 csv ? fmt::format("attachment; filename=\"{}_metrics.csv\"", id)
                     : fmt::format("attachment; filename=\"{}.json\"", id));
  return resp;
}

}  // namespace

Response HandleExportCsv(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  return StreamExport(ctx, req, encode::ExportStream::Format::kCsv);
}

Response HandleExportJson(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  return StreamExport(ctx, req, encode::ExportStream::Format::kJson);
}

}  // namespace runicorn::server
