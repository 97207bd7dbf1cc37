#include "remote/ingest_client.h"

#include <curl/curl.h>
#include <zstd.h>

#include <fmt/format.h>

#include "remote/curl_callbacks.h"
#include "remote/curl_perform.h"

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
  // Run ids and the stream are validated ([0-9_a-f], digits): nothing to escape.
  return CurlSend(curl_, options_, abort_, "PUT", fmt::format("/api/ingest/{}/{}?offset={}", run_id, stream, offset),
                  {"Content-Type: application/octet-stream"}, body);
}

IngestReply IngestClient::GetState(std::string_view run_id, std::string_view stream) {
  return CurlSend(curl_, options_, abort_, "GET", fmt::format("/api/ingest/{}/state?stream={}", run_id, stream), {},
                  std::string());
}

}  // namespace runtrack::remote
