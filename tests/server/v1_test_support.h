// Helpers for the /api/v1 tests: a user and a login token on a TestServer, multipart bodies, and
// checks of the v1 error envelope's exact shape.
#pragma once

#include <regex>
#include <string>

#include "raw_http.h"
#include "server/v1_envelope.h"
#include "server_fixture.h"
#include "service/user_repository.h"

namespace runicorn::testing {

// Through the server's own user repository: the store's users.json, or PostgreSQL on the team
// back end.
inline void AddUser(TestServer& s, const std::string& name, const std::string& password) {
  REQUIRE(s.ctx().services->users->Add(name, password).ok());
}

inline std::string Login(HttpClient& c, const std::string& name, const std::string& password) {
  auto r = c.Post("/api/v1/login", boost::json::serialize(boost::json::object{{"username", name}, {"password", password}}));
  REQUIRE(r.status == 200);
  return std::string(r.json().at("token").as_string());
}

inline std::map<std::string, std::string> Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// Checks every key of the envelope: code, message, details {field, reason}, timestamp shape and
// request_id shape, and nothing else.
inline void CheckEnvelope(const HttpResult& r, unsigned status, const std::string& code, const std::string& message,
                          const boost::json::value& field, const std::string& reason) {
  INFO(r.body);
  CHECK(r.status == status);
  auto v = r.json();
  const auto& o = v.as_object();
  CHECK(o.size() == 3);
  CHECK(o.at("error") == boost::json::value(boost::json::object{
                             {"code", code},
                             {"message", message},
                             {"details", boost::json::object{{"field", field}, {"reason", reason}}}}));
  CHECK(std::regex_match(std::string(o.at("timestamp").as_string()),
                         std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  CHECK(std::regex_match(std::string(o.at("request_id").as_string()), std::regex("req-[0-9a-f]{16}")));
  CHECK(r.header("x-request-id") == std::string(o.at("request_id").as_string()));
}

struct FormPart {
  std::string name;
  std::string value;
  std::string filename;  // empty: a plain field
};

inline std::string MultipartBody(const std::vector<FormPart>& parts, const std::string& boundary) {
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"\r\nContent-Type: application/octet-stream";
    body += "\r\n\r\n" + p.value + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

// POST with any Content-Type (HttpClient always sends application/json).
inline HttpResult PostRaw(uint16_t port, const std::string& target, const std::string& content_type,
                          const std::string& body, const std::string& token) {
  std::map<std::string, std::string> headers{{"Host", "127.0.0.1"}, {"Content-Type", content_type}};
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  return Send(port, http::verb::post, target, headers, body, /*timeout_s=*/60);
}

// File `file` of artifact version `spec` ("name:vN") as the server's download route serves it:
// from the store, or from PostgreSQL and the bucket on the team back end.
inline std::string ReadArtifactFile(TestServer& s, const std::string& spec, const std::string& file) {
  const size_t colon = spec.rfind(":v");
  REQUIRE(colon != std::string::npos);
  HttpClient c(s.port());
  auto r = c.Get("/api/artifacts/" + spec.substr(0, colon) + "/" + spec.substr(colon + 1) + "/download?path=" + file);
  INFO(spec << " " << file << ": " << r.body);
  REQUIRE(r.status == 200);
  return r.body;
}

inline HttpResult Upload(TestServer& s, const std::string& token, const std::vector<FormPart>& parts) {
  const std::string boundary = "----runicornTestBoundary7MA4YWxk";
  return PostRaw(s.port(), "/api/v1/datasets/upload", "multipart/form-data; boundary=" + boundary,
                 MultipartBody(parts, boundary), token);
}

}  // namespace runicorn::testing
