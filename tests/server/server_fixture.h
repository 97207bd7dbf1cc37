// A real `runicorn viewer` in-process: temp store, catalog + indexer, the Api and an HttpServer on
// an ephemeral 127.0.0.1 port; and a small Beast HTTP/WebSocket client to talk to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "runtrack/artifacts.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server/indexer.h"
#include "test_support.h"
#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_server.h"
#include "service/pg/pg_viewer_catalog.h"
#endif

namespace runicorn::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

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

// One keep-alive connection; reconnects when the server closed it.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port) {}

  HttpResult Request(http::verb method, const std::string& target, const std::string& body = {},
                     const std::map<std::string, std::string>& headers = {}) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        if (!stream_) Connect();
        http::request<http::string_body> req(method, target, 11);
        req.set(http::field::host, "127.0.0.1");
        for (const auto& [k, v] : headers) req.set(k, v);
        if (!body.empty() || method == http::verb::post || method == http::verb::put) {
          req.set(http::field::content_type, "application/json");
          req.body() = body;
          req.prepare_payload();
        }
        http::write(*stream_, req);
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(512u << 20);
        if (method == http::verb::head) parser.skip(true);  // no body follows a HEAD response
        http::read(*stream_, buffer, parser);
        auto& res = parser.get();
        HttpResult out;
        out.status = res.result_int();
        out.body = res.body();
        for (const auto& f : res) {
          std::string name(f.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          out.headers[name] = std::string(f.value());
        }
        if (!res.keep_alive()) stream_.reset();
        return out;
      } catch (const std::exception&) {
        stream_.reset();
        if (attempt == 1) throw;
      }
    }
    return {};
  }
  HttpResult Get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return Request(http::verb::get, target, {}, headers);
  }
  HttpResult Post(const std::string& target, const std::string& body, const std::map<std::string, std::string>& headers = {}) {
    return Request(http::verb::post, target, body, headers);
  }

  // Sends raw bytes on a fresh connection and returns whatever comes back before the server
  // closes (or `timeout`).
  std::string Raw(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    net::write(s, net::buffer(bytes));
    std::string out;
    char buf[4096];
    s.expires_after(timeout);
    for (;;) {
      beast::error_code ec;
      size_t n = s.read_some(net::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
      if (out.find("\r\n\r\n") != std::string::npos) {
        // Enough for a status line + headers; read the body by Content-Length if present.
        size_t cl = out.find("Content-Length: ");
        size_t hdr_end = out.find("\r\n\r\n") + 4;
        if (cl != std::string::npos && cl < hdr_end) {
          size_t len = std::stoul(out.substr(cl + 16));
          if (out.size() >= hdr_end + len) break;
        }
      }
    }
    return out;
  }

 private:
  void Connect() {
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    stream_->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_));
    stream_->expires_never();
  }
  uint16_t port_;
  net::io_context ioc_;
  std::unique_ptr<beast::tcp_stream> stream_;
};

// A WebSocket client with a receive timeout.
class WsClient {
 public:
  // Throws beast::system_error when the handshake is refused; the HTTP status is then in
  // `rejected_status`.
  WsClient(uint16_t port, const std::string& target, const std::map<std::string, std::string>& headers = {})
      : ws_(ioc_) {
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    websocket::response_type res;
    beast::error_code ec;
    ws_.handshake(res, "127.0.0.1", target, ec);
    status = res.result_int();
    if (ec) throw beast::system_error(ec);
  }
  // Next text message, or nullopt on close/timeout. (Beast's synchronous reads ignore stream
  // timeouts, so this runs an async read for at most `timeout`.)
  std::optional<std::string> Next(std::chrono::milliseconds timeout) {
    if (dead_) return std::nullopt;
    beast::flat_buffer buf;
    bool done = false;
    beast::error_code result;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    ws_.async_read(buf, [&](beast::error_code ec, size_t) {
      done = true;
      result = ec;
    });
    ioc_.restart();
    ioc_.run();
    if (!done || result) {
      last_error = done ? result : beast::error::timeout;
      dead_ = true;  // a timed-out WebSocket read leaves the stream unusable
      return std::nullopt;
    }
    return beast::buffers_to_string(buf.data());
  }
  void Close() {
    beast::error_code ec;
    if (dead_) return;
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(2));
    ws_.close(websocket::close_code::normal, ec);
  }
  unsigned status = 0;
  beast::error_code last_error;
  websocket::stream<beast::tcp_stream>& stream() { return ws_; }

 private:
  net::io_context ioc_;
  websocket::stream<beast::tcp_stream> ws_;
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
  // decides ("postgresql": a fresh database of the program's private server, tests/pg).
  std::string pg_catalog;
};

#ifdef RUNICORN_HAVE_PG
// RUNICORN_TEST_CATALOG=postgresql without PostgreSQL installed: the whole program is skipped (it
// exits 0 before any case runs, saying why), unless RUNICORN_REQUIRE_PG=1 makes its cases fail.
inline const bool kPgCatalogProgramSkip = [] {
  const char* catalog = std::getenv("RUNICORN_TEST_CATALOG");
  const char* require = std::getenv("RUNICORN_REQUIRE_PG");
  if (catalog == nullptr || std::string(catalog) != "postgresql" || (require && std::string(require) == "1"))
    return false;
  const std::string initdb = fmt::format("{}/initdb", PgTestServer::kBinDir);
  if (::access(initdb.c_str(), X_OK) == 0) return false;
  std::printf("SKIPPED: RUNICORN_TEST_CATALOG=postgresql: PostgreSQL 15 is not installed (%s missing; "
              "apt-get install postgresql-15)\n", initdb.c_str());
  std::exit(0);
}();
#endif

class TestServer {
 public:
  explicit TestServer(ServerConfig config = {}) {
    auto store = runtrack::Store::Open(dir_.path() / "store");
    REQUIRE(store.ok());
    store_ = std::move(*store);
    auto ctx = server::AppContext::Open(store_->root(), dir_.path() / "config" / "config.json");
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    UsePgCatalogIfAsked(config.pg_catalog);
    indexer_ = std::make_unique<server::Indexer>(*ctx_, std::chrono::milliseconds(50));
    REQUIRE(indexer_->Start().ok());
    server::ApiOptions a;
    a.token = config.token;
    a.web_root = config.web_root;
    a.origin_policy = config.origin_policy;
    a.client_addresses = config.client_addresses;
    if (config.rate_limits) {
      a.rate_limits = *config.rate_limits;
    } else {
      a.rate_limits.enabled = false;
    }
    api_ = std::make_unique<server::Api>(*ctx_, a);
    server::ServerOptions s;
    s.port = 0;
    s.threads = config.threads;
    s.body_limit = config.body_limit;
    s.max_connections = config.max_connections;
    s.stream_poll = std::chrono::milliseconds(20);
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, !config.token.empty());
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
  }
  ~TestServer() {
    server_->Shutdown();
    server_->Wait();
    server_.reset();
    indexer_->Stop();
  }

  uint16_t port() const { return server_->port(); }
  runtrack::Store& store() { return *store_; }
  server::AppContext& ctx() { return *ctx_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  server::HttpServer& http_server() { return *server_; }
  // Waits until the indexer has seen everything flushed so far.
  void Sync() {
    REQUIRE(ctx_->storage->catalog().Refresh().ok());
    if (ctx_->after_index_pass) REQUIRE(ctx_->after_index_pass(true).ok());  // as the indexer's pass
    ctx_->index_generation.fetch_add(1);
  }

 private:
  // The run index from PostgreSQL (as `viewer --catalog`), mirrored after every index pass.
  void UsePgCatalogIfAsked(std::string conninfo) {
    const char* env = std::getenv("RUNICORN_TEST_CATALOG");
    if (conninfo.empty() && (env == nullptr || std::string(env) != "postgresql")) return;
#ifdef RUNICORN_HAVE_PG
    if (conninfo.empty()) {
      auto& pg = PgTestServer::Shared();
      INFO(pg.unavailable_reason());
      REQUIRE(pg.available());
      conninfo = pg.NewDatabase();
      REQUIRE_FALSE(conninfo.empty());
    }
    auto catalog = service::pg::PgViewerCatalog::Open(conninfo, *ctx_->storage);
    INFO(catalog.status().ToString());
    REQUIRE(catalog.ok());
    service::pg::PgRunMirror* mirror = &(*catalog)->mirror();
    ctx_->UseRunCatalog(std::move(*catalog), [mirror](bool changed) { return mirror->Pass(changed); });
#else
    FAIL("a PostgreSQL run catalog was asked for, but this test program was built without libpq");
#endif
  }

  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Indexer> indexer_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

// Creates and finishes a run with `steps` points of loss/accuracy (stage "train", every 10th step
// also "eval" metric val_loss) and a few log lines; returns its id.
inline std::string MakeRun(runtrack::Store& store, const std::string& project, const std::string& name, int steps,
                           std::vector<std::string> tags = {}, double acc_scale = 1.0,
                           runtrack::RunStatus end = runtrack::RunStatus::kFinished) {
  runtrack::RunOptions o;
  o.project = project;
  o.name = name;
  o.tags = std::move(tags);
  o.config = {{"lr", 0.01}};  // (a NaN here breaks the journal start record: a library bug, reported)
  auto run = store.CreateRun(o);
  REQUIRE(run.ok());
  REQUIRE((*run)->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax).ok());
  for (int s = 1; s <= steps; ++s) {
    REQUIRE((*run)->Log({{"loss", 1.0 / s}, {"accuracy", acc_scale * (1.0 - 1.0 / (s + 1))}}, s, "train").ok());
    if (s % 10 == 0) REQUIRE((*run)->Log({{"val_loss", 2.0 / s}}, s, "eval").ok());
  }
  REQUIRE((*run)->LogText("line one").ok());
  REQUIRE((*run)->LogText("line two").ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish(end).ok());
  return id;
}

}  // namespace runicorn::testing
