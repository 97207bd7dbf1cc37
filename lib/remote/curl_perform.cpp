#include "remote/curl_perform.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>

#include "remote/curl_callbacks.h"

namespace runtrack::remote {

IngestReply CurlSend(void* curl, const ShipperOptions& options, const std::atomic<bool>* abort, const char* method,
                     std::string_view path_and_query, const std::vector<std::string>& headers,
                     const std::string& body) {
  IngestReply reply;
  CURL* c = static_cast<CURL*>(curl);
  if (c == nullptr) {
    reply.transport_error = "curl_easy_init failed";
    return reply;
  }
  std::string base = options.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + std::string(path_and_query);
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  std::string auth;
  if (!options.token.empty()) {
    auth = "Authorization: Bearer " + options.token;
    list = curl_slist_append(list, auth.c_str());
  }
  curl_easy_reset(c);  // keeps the connection cache, clears the previous request's options
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, CurlAppendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<int64_t>(options.request_timeout.count(), 10000)));
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, CurlAbortWhenSet);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(abort));
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
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
