// The one request path both remote clients (IngestClient, ArtifactClient) share: headers, the
// per-request options, curl_easy_perform and how its outcome becomes an IngestReply.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "remote/ingest_client.h"
#include "runtrack/remote.h"

namespace runtrack::remote {

// Sends `method` <options.server without trailing '/'><path_and_query> on `curl` (a CURL*,
// reset first but kept, so its connection cache survives between requests) with `body`.
// `headers` (e.g. "Content-Type: ...") go first, then "Expect:" (no 100-continue round trip) and,
// with a token, "Authorization: Bearer <token>". The reply has status 0 and transport_error set
// when no HTTP answer came (curl_easy_init failed, connection refused, timeout, `abort` set);
// else the status, the body and a positive Retry-After.
IngestReply CurlSend(void* curl, const ShipperOptions& options, const std::atomic<bool>* abort, const char* method,
                     std::string_view path_and_query, const std::vector<std::string>& headers,
                     const std::string& body);

}  // namespace runtrack::remote
