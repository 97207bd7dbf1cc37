// A real `runicorn viewer` in-process: temp store, catalog + indexer, the Api and an HttpServer on
// an ephemeral 127.0.0.1 port; and a small HTTP/WebSocket client to talk to it.
//
// Declarations only: the Beast clients (http_test_clients.cpp) and the server's wiring
// (server_fixture.cpp) are compiled once, in the library runicorn_test_server. Instantiating
// Beast's templates in every test file cost ~25 s of compile time per file. A test that drives
// Beast itself includes beast_aliases.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>
#include <boost/system/error_code.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server/indexer.h"
#include "test_support.h"
#include "viewer/team_backend.h"

namespace runicorn::testing {

namespace http = boost::beast::http;

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  boost::json::value json() const { return boost::json::parse(body); }
  std::string detail() const {
    auto v = json();
    return std::string(v.as_object().at("detail").as_string());
  }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One keep-alive connection; reconnects when the server closed it. Sends Host: 127.0.0.1, and
// Content-Type: application/json with a body (and on every POST and PUT).
class HttpClient {
 public:
  explicit HttpClient(uint16_t port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {});
  HttpResult Get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return Request(http::verb::get, target, {}, headers);
  }
  HttpResult Post(const std::string& target, const std::string& body, const std::map<std::string, std::string>& headers = {}) {
    return Request(http::verb::post, target, body, headers);
  }

  // Sends raw bytes on a fresh connection and returns whatever comes back before the server
  // closes (or `timeout`).
  std::string Raw(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

 private:
  struct Connection;
  uint16_t port_;
  std::unique_ptr<Connection> connection_;
};

// A WebSocket client with a receive timeout.
class WsClient {
 public:
  // Throws boost::system::system_error when the handshake is refused.
  WsClient(uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {});
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Next text message, or nullopt on close/timeout (`last_error` says which).
  std::optional<std::string> Next(std::chrono::milliseconds timeout);
  void Close();
  // The reason the server gave in its close frame ("" before one arrived).
  std::string close_reason() const;

  unsigned status = 0;
  boost::system::error_code last_error;

 private:
  struct Stream;
  std::unique_ptr<Stream> stream_;
  bool dead_ = false;
};

struct ServerConfig {
  std::string token;
  std::optional<server::RateLimitConfig> rate_limits;  // default: limits off
  uint64_t body_limit = 64 * 1024;
  int threads = 2;
  std::optional<std::filesystem::path> web_root;  // default: the built-in page
  server::OriginPolicy origin_policy;              // default: loopback Host names, no other origins
  server::ClientAddressResolver client_addresses;  // default: rate limits keyed on the peer address
  size_t max_connections = 0;                      // 0: derived from RLIMIT_NOFILE
  // The run index in PostgreSQL at this conninfo (viewer --catalog). Empty: RUNICORN_TEST_CATALOG
  // decides: "postgresql", a fresh database of the run's PostgreSQL (tests/pg/pg_test_server.h);
  // "team", the whole team back end (viewer --catalog … --objects …, viewer/team_backend.h) on a
  // fresh database and a fresh bucket of the run's Ceph RGW (tests/s3/rgw_test_server.h).
  std::string pg_catalog;
};

class TestServer {
 public:
  explicit TestServer(ServerConfig config = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  uint16_t port() const;
  runtrack::Store& store() { return *store_; }
  server::AppContext& ctx() { return *ctx_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  server::HttpServer& http_server() { return *server_; }
  // Waits until the indexer has seen everything flushed so far (and, on the team back end, until
  // it is published to PostgreSQL and the bucket, as the replica's background passes would).
  void Sync();

 private:
  void OpenContext(const std::string& pg_catalog);

  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<viewer::TeamBackend> team_;  // after ctx_: stopped before the context closes
  std::unique_ptr<server::Indexer> indexer_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

// Creates and finishes a run with `steps` points of loss/accuracy (stage "train", every 10th step
// also "eval" metric val_loss) and a few log lines; returns its id.
std::string MakeRun(runtrack::Store& store, const std::string& project, const std::string& name, int steps,
                    std::vector<std::string> tags = {}, double acc_scale = 1.0,
                    runtrack::RunStatus end = runtrack::RunStatus::kFinished);

}  // namespace runicorn::testing
