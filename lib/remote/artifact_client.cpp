#include "remote/artifact_client.h"

#include <curl/curl.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "remote/curl_callbacks.h"
#include "remote/curl_perform.h"

namespace runtrack::remote {
ArtifactClient::ArtifactClient(const ShipperOptions& options, const std::atomic<bool>* abort)
    : options_(options), abort_(abort) {
  CurlGlobalInitOnce();
  curl_ = curl_easy_init();
}

ArtifactClient::~ArtifactClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

IngestReply ArtifactClient::Missing(const std::vector<std::string>& digests) {
  boost::json::array list;
  for (const auto& d : digests) list.emplace_back(d);
  return Send("POST", "/api/ingest/chunks/missing", "application/json", false,
              boost::json::serialize(boost::json::object{{"digests", std::move(list)}}));
}

IngestReply ArtifactClient::PutChunk(std::string_view digest, uint64_t size, uint64_t offset, const std::string& body) {
  // The digest is validated hex: nothing to escape.
  return Send("PUT", fmt::format("/api/ingest/chunks/{}?size={}&offset={}", digest, size, offset),
              "application/octet-stream", true, body);
}

IngestReply ArtifactClient::PutManifest(std::string_view name, int version, std::string_view used_by,
                                        const std::string& body) {
  // Artifact names are UTF-8 with spaces and punctuation allowed: one escaped path segment.
  std::string escaped;
  if (char* e = curl_easy_escape(static_cast<CURL*>(curl_), name.data(), static_cast<int>(name.size()))) {
    escaped = e;
    curl_free(e);
  }
  std::string path = fmt::format("/api/ingest/artifacts/{}/v{}", escaped, version);
  if (!used_by.empty()) path += fmt::format("?used_by={}", used_by);  // a validated run id
  return Send("PUT", path, "application/octet-stream", true, body);
}

std::string ArtifactClient::Escape(std::string_view segment) {
  std::string escaped;
  if (char* e = curl_easy_escape(static_cast<CURL*>(curl_), segment.data(), static_cast<int>(segment.size()))) {
    escaped = e;
    curl_free(e);
  }
  return escaped;
}

IngestReply ArtifactClient::PutAlias(std::string_view name, std::string_view alias, int version) {
  // Names and aliases allow spaces and punctuation: each one escaped path segment.
  return Send("PUT", fmt::format("/api/ingest/artifacts/{}/aliases/{}", Escape(name), Escape(alias)),
              "application/json", false, boost::json::serialize(boost::json::object{{"version", version}}));
}

IngestReply ArtifactClient::RemoveAlias(std::string_view name, std::string_view alias, int version) {
  return Send("DELETE", fmt::format("/api/ingest/artifacts/{}/aliases/{}?version={}", Escape(name), Escape(alias), version),
              "application/json", false, std::string());
}

IngestReply ArtifactClient::PutVersionState(std::string_view name, int version, std::string_view state) {
  return Send("PUT", fmt::format("/api/ingest/artifacts/{}/v{}/state", Escape(name), version), "application/json", false,
              boost::json::serialize(boost::json::object{{"state", state}}));
}

IngestReply ArtifactClient::Send(const char* method, const std::string& path, const char* content_type, bool zstd,
                                 const std::string& body) {
  std::vector<std::string> headers{std::string("Content-Type: ") + content_type};
  if (zstd) headers.emplace_back("Content-Encoding: zstd");
  return CurlSend(curl_, options_, abort_, method, path, headers, body);
}

}  // namespace runtrack::remote
