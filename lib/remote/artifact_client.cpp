#include "remote/artifact_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "remote/curl_callbacks.h"

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

IngestReply ArtifactClient::Send(const char* method, const std::string& path, const char* content_type, bool zstd,
                                 const std::string& body) {
  IngestReply reply;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    reply.transport_error = "curl_easy_init failed";
    return reply;
  }
  std::string base = options_.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + path;
  const std::string type = std::string("Content-Type: ") + content_type;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, type.c_str());
  if (zstd) headers = curl_slist_append(headers, "Content-Encoding: zstd");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::string auth;
  if (!options_.token.empty()) {
    auth = "Authorization: Bearer " + options_.token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_reset(c);  // keeps the connection cache, clears the previous request's options
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CurlAppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(options_.request_timeout.count(), 10000)));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, CurlAbortWhenSet);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort_));
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    reply.transport_error = curl_easy_strerror(rc);
    return reply;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_off_t retry = -1;
  if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &retry) == CURLE_OK && retry > 0)
    reply.retry_after_seconds = static_cast<long>(retry);
  return reply;
}

}  // namespace runtrack::remote
