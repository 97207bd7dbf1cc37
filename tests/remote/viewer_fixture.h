// An in-process viewer over a given store root and port that can be stopped and started again on
// the same port (a viewer restart), for the journal-shipping tests. TestServer (server_fixture.h)
// owns its store and picks a fresh port, so it cannot be restarted.
#pragma once

#include <functional>
#include <memory>

#include <catch2/catch.hpp>

#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server/indexer.h"

namespace runicorn::testing {

class RestartableViewer {
 public:
  // port 0: pick one now and keep it across restarts.
  // `configure` adjusts the API options (ingest token, local token) at every start.
  RestartableViewer(std::filesystem::path root, std::filesystem::path config, std::string token = {},
                    std::function<void(server::ApiOptions&)> configure = {})
      : root_(std::move(root)), config_(std::move(config)), token_(std::move(token)), configure_(std::move(configure)) {
    REQUIRE(runtrack::Store::Open(root_).ok());
    Start();
  }
  ~RestartableViewer() { Stop(); }

  void Start() {
    auto ctx = server::AppContext::Open(root_, config_);
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    indexer_ = std::make_unique<server::Indexer>(*ctx_, std::chrono::milliseconds(50));
    REQUIRE(indexer_->Start().ok());
    server::ApiOptions a;
    a.token = token_;
    a.rate_limits.enabled = false;
    if (configure_) configure_(a);
    api_ = std::make_unique<server::Api>(*ctx_, a);
    server::ServerOptions s;
    s.port = port_;
    s.threads = 2;
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, !token_.empty());
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
    port_ = server_->port();
  }
  // Like a killed viewer, as far as clients can tell: the port stops answering. (Acknowledged
  // bytes were fsynced before their answer, so a real kill loses nothing more.)
  void Stop() {
    if (!server_) return;
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    api_.reset();
    indexer_->Stop();
    indexer_.reset();
    ctx_.reset();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  server::AppContext& ctx() { return *ctx_; }
  void Sync() { REQUIRE(ctx_->storage->catalog().Refresh().ok()); }

 private:
  std::filesystem::path root_, config_;
  std::string token_;
  std::function<void(server::ApiOptions&)> configure_;
  uint16_t port_ = 0;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Indexer> indexer_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

}  // namespace runicorn::testing
