// A run's logged images (service/media_service.h): the list for the run page's gallery and the
// files themselves. Transport only.
#include <boost/json.hpp>

#include "server/bodies.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/read_forwarding.h"

namespace runicorn::server {
namespace bj = boost::json;

Response HandleRunMedia(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
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

namespace {

// A file another replica published, read from the bucket as it is sent (bounded memory; a
// mismatch found at its end cuts the response).
class PublishedFileBody final : public BodySource {
 public:
  explicit PublishedFileBody(std::shared_ptr<service::RunFileStream> stream) : stream_(std::move(stream)) {}
  std::optional<uint64_t> size() const override { return stream_->size(); }
  runtrack::Result<size_t> Read(char* out, size_t capacity) override { return stream_->Read(out, capacity); }

 private:
  std::shared_ptr<service::RunFileStream> stream_;
};

}  // namespace

Response HandleRunMediaFile(const AppContext& ctx, const Request& req) {
  RUNICORN_FORWARD_READ_TO_OWNER(ctx, req);  // a live run of another replica: its owner answers
  RUNICORN_ASSIGN_OR_RESPOND(auto file, ctx.services->media.Open(req.Param("run_id"), req.Param("file")));
  std::shared_ptr<BodySource> body;
  if (file.remote) {  // another replica's run, published to the bucket
    body = std::make_shared<PublishedFileBody>(std::move(file.remote));
  } else {
    RUNICORN_ASSIGN_OR_RESPOND(auto local, FileBody::Open(file.path, file.size));
    body = std::move(local);
  }
  Response r = Response::Stream(std::move(body), file.content_type);
  r.AddHeader("Cache-Control", "private, max-age=3600");  // a logged image never changes
  r.AddHeader("X-Content-Type-Options", "nosniff");
  return r;
}

}  // namespace runicorn::server
