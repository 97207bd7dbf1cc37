// The libcurl pieces both remote clients (IngestClient, ArtifactClient) share: a body collector,
// an abort check, and the once-per-process global init.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <mutex>
#include <string>

namespace runtrack::remote {

// CURLOPT_WRITEFUNCTION: appends to the std::string in CURLOPT_WRITEDATA.
inline size_t CurlAppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// CURLOPT_XFERINFOFUNCTION: aborts the transfer once the std::atomic<bool> in CURLOPT_XFERINFODATA
// (may be null) is set.
inline int CurlAbortWhenSet(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort != nullptr && abort->load() ? 1 : 0;  // non-zero aborts the transfer
}

inline void CurlGlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace runtrack::remote
