#include "server/http_types.h"

#include "encode/json_writer.h"

namespace runicorn::server {

Response Response::Json(const boost::json::value& value, unsigned status) {
  Response r;
  r.status = status;
  // Not boost::json::serialize: doubles in Python's repr() form, as Runicorn sends them.
  r.body = encode::JsonText(value);
  return r;
}

Response Response::Error(unsigned status, std::string_view detail) {
  boost::json::object o;
  o["detail"] = detail;
  return Json(o, status);
}

Response Response::Text(std::string body, std::string content_type, unsigned status) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::Stream(std::shared_ptr<BodySource> source, std::string content_type, unsigned status) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.stream = std::move(source);
  return r;
}

}  // namespace runicorn::server
