// How a running `runicorn viewer` can be reached by other processes on the same machine: it
// writes its address and a per-start credential into the store (StoreLayout::viewer_endpoint_path,
// owner-only permissions) and removes the file when it stops. The CLI, finding the catalog held,
// sends its commands there instead, with the same output and exit codes.
//
// File format (JSON): {"url": "http://127.0.0.1:23300", "host": "127.0.0.1", "port": 23300,
// "token": "<64 hex>", "pid": 1234}.
#pragma once

#include <cstdint>
#include <string>

#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runicorn::service {

struct ViewerEndpoint {
  std::string host;   // what the viewer is bound to; 0.0.0.0 / :: are reached through loopback
  uint16_t port = 0;
  std::string token;  // accepted by that viewer as a bearer token for as long as it runs
  int64_t pid = 0;
};

// A fresh random credential (32 bytes from OpenSSL's CSPRNG, hex).
runtrack::Result<std::string> NewLocalToken();

// Written atomically with mode 0600.
runtrack::Status WriteViewerEndpoint(const runtrack::StoreLayout& layout, const ViewerEndpoint& endpoint);
// NotFound when no viewer has announced itself, or the one that did is no longer alive.
runtrack::Result<ViewerEndpoint> ReadViewerEndpoint(const runtrack::StoreLayout& layout);
// Removes the file if it still names `pid` (a newer viewer's file is left alone).
void RemoveViewerEndpoint(const runtrack::StoreLayout& layout, int64_t pid);

}  // namespace runicorn::service
