// What a CLI command runs against. Normally the store itself: this process opens the catalog,
// indexes new journal records and calls the services. When a running viewer holds the catalog
// (the usual case), the same command goes through that viewer's HTTP API instead, using the
// address and credential it announced in the store (service/viewer_endpoint.h).
//
// Each call names both ways of answering it — the service call (encoded with encode/api_json.h)
// and the API route — so both produce the API's JSON byte for byte, and errors arrive as the same
// Status either way: the output and exit code of a command do not depend on which path ran.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "cli/viewer_client.h"
#include "runtrack/status.h"
#include "service/embedded_storage.h"
#include "service/services.h"

namespace runicorn::cli {

class StoreAccess {
 public:
  // Opens `root` locally, or reaches the viewer holding it. kBusy when the catalog is held and no
  // live viewer announced itself (another CLI command, or a program with the catalog open).
  static runtrack::Result<std::unique_ptr<StoreAccess>> Open(const std::filesystem::path& root);

  using Local = std::function<runtrack::Result<boost::json::value>(service::Services& services)>;

  runtrack::Result<boost::json::value> Call(const Local& local, const ApiCall& remote);
  // For bodies of any size (exports): `local` hands its pieces to the sink, or the route's body
  // reaches it a buffer at a time. A sink error stops either and is returned.
  using Sink = ViewerClient::Sink;
  using LocalStream = std::function<runtrack::Status(service::Services& services, const Sink& sink)>;
  runtrack::Status CallStream(const LocalStream& local, const ApiCall& remote, const Sink& sink);

  bool remote() const { return viewer_ != nullptr; }

 private:
  StoreAccess() = default;
  std::unique_ptr<service::EmbeddedStorage> storage_;
  std::unique_ptr<service::Services> services_;
  std::unique_ptr<ViewerClient> viewer_;
};

}  // namespace runicorn::cli
