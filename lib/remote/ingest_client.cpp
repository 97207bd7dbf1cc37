#include "remote/ingest_client.h"

#include <curl/curl.h>
#include <zstd.h>

#include <mutex>

#include <fmt/format.h>

#include "remote/curl_callbacks.h"

namespace runtrack::remote {
IngestClient::IngestClient(const ShipperOptions& options, const std::atomic<bool>* abort)
    : options_(options), abort_(abort) {
  CurlGlobalInitOnce();
  curl_ = curl_easy_init();
}

IngestClient::~IngestClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
  if (zstd_ != nullptr) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
}

IngestReply IngestClient::PutRecords(std::string_view run_id, std::string_view stream, uint64_t offset,
                                     std::string_view records) {
  if (zstd_ == nullptr) zstd_ = ZSTD_createCCtx();
  auto* cctx = static_cast<ZSTD_CCtx*>(zstd_);
  compressed_.resize(ZSTD_compressBound(records.size()));
  const size_t n = cctx == nullptr ? 0
                                   : ZSTD_compressCCtx(cctx, compressed_.data(), compressed_.size(), records.data(),
                                                       records.size(), /*compressionLevel=*/1);
  if (cctx == nullptr || ZSTD_isError(n)) {
    IngestReply reply;  // only without memory: a transport-level failure, retried with backoff
    reply.transport_error = cctx == nullptr ? "ZSTD_createCCtx failed" : ZSTD_getErrorName(n);
    return reply;
  }
  compressed_.resize(n);
  return Put(run_id, stream, offset, compressed_);
}

IngestReply IngestClient::Put(std::string_view run_id, std::string_view stream, uint64_t offset,
                              const std::string& body) {
  IngestReply reply;
  CURL* c = static_cast<CURL*>(curl_);
  if (c == nullptr) {
    reply.transport_error = "curl_easy_init failed";
    return reply;
  }
  std::string base = options_.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // Run ids and the stream are validated ([0-9_a-f], digits): nothing to escape.
  const std::string url = fmt::format("{}/api/ingest/{}/{}?offset={}", base, run_id, stream, offset);
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::string auth;
  if (!options_.token.empty()) {
    auth = "Authorization: Bearer " + options_.token;
    headers = curl_slist_append(headers, auth.c_str());
  }
  curl_easy_reset(c);  // keeps the connection cache, clears the previous request's options
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CurlAppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<int64_t>(options_.request_timeout.count(), 10000)));
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
