// A run's logged images (service/media_service.h): the list for the run page's gallery and the
// files themselves. Transport only.
#include <boost/json.hpp>

#include "server/bodies.h"
#include "server/errors.h"
#include "server/handlers.h"

namespace runicorn::server {
namespace bj = boost::json;

Response HandleRunMedia(const AppContext& ctx, const Request& req) {
  const std::string& id = req.Param("run_id");
  RUNICORN_ASSIGN_OR_RESPOND(auto images, ctx.services->media.List(id));
  bj::array out;
  for (const auto& img : images)
    out.push_back(bj::object{{"key", img.key},
                             {"file", img.file},
                             {"url", "/api/runs/" + id + "/media/" + img.file},
                             {"step", img.step ? bj::value(*img.step) : bj::value(nullptr)},
                             {"caption", img.caption ? bj::value(*img.caption) : bj::value(nullptr)},
                             {"time", img.time},
                             {"size", img.size}});
  return Response::Json(bj::object{{"run_id", id}, {"images", std::move(out)}});
}

Response HandleRunMediaFile(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(auto file, ctx.services->media.Open(req.Param("run_id"), req.Param("file")));
  RUNICORN_ASSIGN_OR_RESPOND(auto body, FileBody::Open(file.path, file.size));
  Response r = Response::Stream(std::move(body), file.content_type);
  r.AddHeader("Cache-Control", "private, max-age=3600");  // a logged image never changes
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace runicorn::server
