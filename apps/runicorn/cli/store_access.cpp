#include "cli/store_access.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "service/config_service.h"
#include "service/viewer_endpoint.h"

namespace runicorn::cli {
using runtrack::Result;
using runtrack::Status;

Result<std::unique_ptr<StoreAccess>> StoreAccess::Open(const std::filesystem::path& root) {
  std::unique_ptr<StoreAccess> access(new StoreAccess());
  auto storage = service::EmbeddedStorage::Open(root);
  if (storage.ok()) {
    // A command sees everything flushed so far.
    auto report = (*storage)->catalog().Refresh();
    if (!report.ok())
      return Status(report.status().code(), fmt::format("indexing {} failed: {}", root.string(), report.status().ToString()));
    access->storage_ = std::move(*storage);
    service::EmbeddedStorage& s = *access->storage_;
    const std::filesystem::path served = s.root().lexically_normal();
    access->services_ = std::make_unique<service::Services>(
        s, s, s.artifacts(), runtrack::StoreLayout(served),
        service::ConfigService(service::DefaultUserConfigFile(), served, ""));
    return access;
  }
  if (storage.status().code() != runtrack::StatusCode::kBusy) return storage.status();
  std::error_code ec;
  auto endpoint = service::ReadViewerEndpoint(runtrack::StoreLayout(std::filesystem::absolute(root, ec)));
  if (!endpoint.ok()) return storage.status();
  access->viewer_ = std::make_unique<ViewerClient>(std::move(*endpoint));
  return access;
}

Result<boost::json::value> StoreAccess::Call(const Local& local, const ApiCall& remote) {
  if (!viewer_) return local(*services_);
  RUNTRACK_ASSIGN_OR_RETURN(std::string body, viewer_->Send(remote));
  boost::system::error_code ec;
  boost::json::value v = runtrack::ParseJson(body, ec);
  if (ec) return Status::Internal("the viewer answered with invalid JSON");
  return v;
}

runtrack::Status StoreAccess::CallStream(const LocalStream& local, const ApiCall& remote, const Sink& sink) {
  if (!viewer_) return local(*services_, sink);
  return viewer_->SendTo(remote, sink);
}


}  // namespace runicorn::cli
