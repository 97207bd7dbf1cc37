// /api/remote/* (and the /api/unified/* aliases) over HTTP, against a real sshd.
#include <catch2/catch.hpp>

#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server_fixture.h"
#include "sshd_fixture.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
constexpr const char* kTaskToken = "ssh-test-task-token";
const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kTaskToken}};

// A viewer with a task token (the SSH routes need it always, like the task routes).
class RemoteServer {
 public:
  RemoteServer() {
    auto store = runtrack::Store::Open(dir_.path() / "store");
    REQUIRE(store.ok());
    store_ = std::move(*store);
    auto ctx = server::AppContext::Open(store_->root(), dir_.path() / "config" / "config.json");
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    server::ApiOptions a;
    a.task_token = kTaskToken;
    a.rate_limits.enabled = false;
    api_ = std::make_unique<server::Api>(*ctx_, a);
    server::ServerOptions s;
    s.port = 0;
    s.threads = 2;
    s.drain_timeout = std::chrono::seconds(2);
    auto srv = server::HttpServer::Start(*api_, s, false);
    REQUIRE(srv.ok());
    server_ = std::move(*srv);
  }
  ~RemoteServer() {
    server_->Shutdown();
    server_->Wait();
  }
  uint16_t port() const { return server_->port(); }
  std::filesystem::path dir() const { return dir_.path(); }
  runtrack::StoreLayout layout() const { return runtrack::StoreLayout(store_->root()); }

 private:
  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

std::string ConnectBody(const Sshd& sshd, json::object extra = {}) {
  json::object o{{"host", "127.0.0.1"},
                 {"port", sshd.port()},
                 {"username", sshd.user()},
                 {"private_key_path", sshd.client_key().string()},
                 {"use_agent", false}};
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return json::serialize(o);
}

}  // namespace

TEST_CASE("SSH remote routes need the task token even on loopback and validate their bodies", "[ssh][routes]") {
  RemoteServer srv;
  HttpClient c(srv.port());
  for (const char* target : {"/api/remote/status", "/api/unified/status", "/api/remote/connections/saved"}) {
    auto r = c.Get(target);
    CHECK(r.status == 401);
    CHECK(r.detail() ==
          "Task routes need the viewer's task token (printed at start): send Authorization: Bearer TOKEN");
  }
  auto r = c.Post("/api/remote/connect", R"({"host":"127.0.0.1","username":"u"})");
  CHECK(r.status == 401);
  auto ok = c.Get("/api/remote/status", kAuth);
  CHECK(ok.status == 200);
  CHECK(ok.body == R"({"connected":false,"sessions":[]})");
  auto bad = c.Post("/api/remote/connect", R"({"host":"127.0.0.1","username":"u","port":70000})", kAuth);
  CHECK(bad.status == 400);
  CHECK(bad.detail() == "port must be an integer 1..65535");
}

TEST_CASE("connect: 409 HOST_KEY_CONFIRMATION_REQUIRED, accept, connect, list, sync, disconnect", "[ssh][routes]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  RemoteServer srv;
  HttpClient c(srv.port());

  auto first = c.Post("/api/remote/connect", ConnectBody(sshd), kAuth);
  REQUIRE(first.status == 409);
  const json::value first_json = first.json();
  const auto& detail = first_json.at("detail").as_object();
  CHECK(detail.at("code").as_string() == "HOST_KEY_CONFIRMATION_REQUIRED");
  CHECK(detail.at("message").as_string() == "Host key verification failed");
  const auto& key = detail.at("host_key").as_object();
  CHECK(key.at("fingerprint_sha256").as_string() == sshd.host_fingerprint());
  CHECK(key.at("reason").as_string() == "unknown");
  CHECK(key.at("key_type").as_string() == "ssh-ed25519");
  CHECK(key.at("port").as_int64() == sshd.port());

  json::object accept{{"host", "127.0.0.1"}, {"port", sshd.port()}, {"key_type", key.at("key_type")},
                      {"public_key", key.at("public_key")}, {"fingerprint_sha256", key.at("fingerprint_sha256")}};
  auto acc = c.Post("/api/remote/known-hosts/accept", json::serialize(accept), kAuth);
  REQUIRE(acc.status == 200);
  // The store-local known_hosts, not ~/.ssh/known_hosts.
  CHECK(std::filesystem::exists(srv.layout().ssh_known_hosts_path()));

  auto conn = c.Post("/api/unified/connect", ConnectBody(sshd), kAuth);
  INFO(conn.body);
  REQUIRE(conn.status == 200);
  const std::string id = sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port());
  CHECK(conn.json().at("connection_id").as_string() == id);
  CHECK(conn.json().at("ok").as_bool());

  auto status = c.Get("/api/remote/status", kAuth);
  REQUIRE(status.status == 200);
  CHECK(status.json().at("connected").as_bool());
  CHECK(status.json().at("sessions").as_array().at(0).at("connection_id").as_string() == id);

  // A remote store with one finished run, listed and pulled.
  runtrack::testing::TempDir remote;
  std::string run_id;
  {
    auto store = runtrack::Store::Open(remote.path() / "store");
    REQUIRE(store.ok());
    run_id = MakeRun(**store, "p", "r", 20);
  }
  auto list = c.Get("/api/remote/fs/list?connection_id=" + id + "&path=" + remote.path().string(), kAuth);
  REQUIRE(list.status == 200);
  CHECK(list.json().at("path").as_string() == remote.path().string());
  const json::value listed = list.json();
  const auto& items = listed.at("items").as_array();
  REQUIRE(items.size() == 1);
  CHECK(items.at(0).at("name").as_string() == "store");
  CHECK(items.at(0).at("type").as_string() == "dir");

  json::object sync{{"connection_id", id}, {"remote_root", (remote.path() / "store").string()}};
  auto pulled = c.Post("/api/remote/sync", json::serialize(sync), kAuth);
  INFO(pulled.body);
  REQUIRE(pulled.status == 200);
  const runtrack::StoreLayout remote_layout(remote.path() / "store");
  const uint64_t size = std::filesystem::file_size(remote_layout.journal_path(run_id));
  const json::value pulled_json = pulled.json();
  const auto& run = pulled_json.at("runs").as_array().at(0).as_object();
  CHECK(run.at("run_id").as_string() == run_id);
  CHECK(run.at("bytes_fetched").as_int64() == static_cast<int64_t>(size));
  CHECK(run.at("local_after").as_int64() == static_cast<int64_t>(size));
  CHECK(run.at("compacted").as_bool() == false);  // an ordinary journal, pulled by offsets
  CHECK(run.at("files_fetched").as_int64() == 0);
  CHECK(ReadAll(srv.layout().journal_path(run_id)) == ReadAll(remote_layout.journal_path(run_id)));
  auto again = c.Post("/api/remote/sync", json::serialize(sync), kAuth);
  REQUIRE(again.status == 200);
  CHECK(again.json().at("bytes_fetched").as_int64() == 0);

  auto bye = c.Post("/api/remote/disconnect", json::serialize(json::object{{"connection_id", id}}), kAuth);
  CHECK(bye.status == 200);
  auto gone = c.Get("/api/remote/fs/list?connection_id=" + id, kAuth);
  CHECK(gone.status == 404);
  CHECK(gone.detail() == "no open SSH connection '" + id + "': connect first (POST /api/remote/connect)");
}

TEST_CASE("wrong credentials answer 403 with a clear error, saved connections never carry secrets", "[ssh][routes]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  RemoteServer srv;
  HttpClient c(srv.port());
  json::object accept{{"host", "127.0.0.1"}, {"port", sshd.port()}, {"fingerprint_sha256", sshd.host_fingerprint()}};
  REQUIRE(c.Post("/api/remote/known-hosts/accept", json::serialize(accept), kAuth).status == 200);

  const std::string secret = "hunter2-never-echoed";
  json::object body{{"host", "127.0.0.1"}, {"port", sshd.port()}, {"username", sshd.user()},
                    {"password", secret},  {"use_agent", false},   {"save", true}};
  auto refused = c.Post("/api/remote/connect", json::serialize(body), kAuth);
  CHECK(refused.status == 403);
  CHECK(refused.detail() == "SSH authentication failed for " + sshd.user() + "@127.0.0.1:" +
                                std::to_string(sshd.port()) + " (tried: password)");
  CHECK(refused.body.find(secret) == std::string::npos);

  // Connect with the key and a passphrase field set, saving the connection.
  auto ok = c.Post("/api/remote/connect", ConnectBody(sshd, {{"save", true}, {"name", "lab"}, {"passphrase", secret}}),
                   kAuth);
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  CHECK(ok.body.find(secret) == std::string::npos);
  auto saved = c.Get("/api/remote/connections/saved", kAuth);
  REQUIRE(saved.status == 200);
  CHECK(saved.body == R"({"connections":[{"name":"lab","host":"127.0.0.1","port":)" + std::to_string(sshd.port()) +
                          R"(,"username":")" + sshd.user() + R"(","private_key_path":")" + sshd.client_key().string() +
                          R"(","use_agent":false}]})");
  const auto file = srv.dir() / "config" / "remote_connections.json";
  REQUIRE(std::filesystem::exists(file));
  CHECK(ReadAll(file).find(secret) == std::string::npos);

  auto with_secret = c.Post("/api/remote/connections/saved",
                            R"({"name":"x","host":"h","username":"u","password":"p"})", kAuth);
  CHECK(with_secret.status == 400);
  CHECK(with_secret.detail() == "saved connections hold no secrets: remove 'password'");

  auto del = c.Request(http::verb::delete_, "/api/remote/connections/saved/lab", {}, kAuth);
  CHECK(del.status == 200);
  CHECK(del.body == R"({"connections":[]})");
}

}  // namespace runicorn::testing
