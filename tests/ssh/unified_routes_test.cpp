// Runicorn's /api/unified/* status, listdir and sync modes (docs/REMOTE.md "Sync modes") over HTTP,
// against a real sshd: the periodic pull runs on a service thread with a short test "minute".
#include <catch2/catch.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "raw_http.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "server/api.h"
#include "server/app_context.h"
#include "server/http_server.h"
#include "server_fixture.h"
#include "sshd_fixture.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
constexpr const char* kTaskToken = "unified-test-task-token";
const std::map<std::string, std::string> kAuth = {{"Authorization", std::string("Bearer ") + kTaskToken}};
const std::string kNotConnected = R"({"connection":{"connected":false},"smart_mode":{"active":false},"mirror_mode":{"active":false}})";

// A viewer with a task token, whose RemoteService the test can reach (for the test "minute").
class UnifiedServer {
 public:
  UnifiedServer() {
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
  ~UnifiedServer() {
    server_->Shutdown();
    server_->Wait();
  }
  uint16_t port() const { return server_->port(); }
  service::ssh::RemoteService& remote() { return ctx_->services->remote; }
  runtrack::StoreLayout layout() const { return runtrack::StoreLayout(store_->root()); }

 private:
  runtrack::testing::TempDir dir_;
  std::unique_ptr<runtrack::Store> store_;
  std::unique_ptr<server::AppContext> ctx_;
  std::unique_ptr<server::Api> api_;
  std::unique_ptr<server::HttpServer> server_;
};

// Trusts the test sshd's key for `host`, connects over /api/unified/connect, returns the id.
std::string Connect(HttpClient& c, const Sshd& sshd, const std::string& host = "127.0.0.1") {
  json::object accept{{"host", host}, {"port", sshd.port()}, {"fingerprint_sha256", sshd.host_fingerprint()}};
  REQUIRE(c.Post("/api/remote/known-hosts/accept", json::serialize(accept), kAuth).status == 200);
  json::object body{{"host", host},
                    {"port", sshd.port()},
                    {"username", sshd.user()},
                    {"private_key_path", sshd.client_key().string()},
                    {"use_agent", false}};
  auto r = c.Post("/api/unified/connect", json::serialize(body), kAuth);
  INFO(r.body);
  REQUIRE(r.status == 200);
  return std::string(r.json().at("connection_id").as_string());
}

int64_t MtimeOf(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mtime;
}

// The local copy holds at least `remote` (a live writer may have appended more remotely since).
bool Holds(const fs::path& local, const std::string& remote) { return ReadAll(local).starts_with(remote); }

uint64_t SizeOr0(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// Polls the status until `done` holds; the deadline only guards against a hang.
json::value WaitStatus(HttpClient& c, const std::function<bool(const json::value&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto r = c.Get("/api/unified/status", kAuth);
    REQUIRE(r.status == 200);
    json::value v = r.json();
    if (done(v)) return v;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

TEST_CASE("unified routes need the task token, take JSON only and validate before connecting", "[ssh][unified]") {
  UnifiedServer srv;
  HttpClient c(srv.port());
  for (auto [method, target] : std::vector<std::pair<http::verb, std::string>>{
           {http::verb::get, "/api/unified/status"},
           {http::verb::get, "/api/unified/listdir?path=/"},
           {http::verb::post, "/api/unified/configure_mode"},
           {http::verb::post, "/api/unified/deactivate_mode"}}) {
    INFO(target);
    auto r = c.Request(method, target, method == http::verb::post ? "{}" : "");
    CHECK(r.status == 401);
    CHECK(r.detail() == "Task routes need the viewer's task token (printed at start): send Authorization: Bearer TOKEN");
  }
  auto status = c.Get("/api/unified/status", kAuth);
  CHECK(status.status == 200);
  CHECK(status.body == kNotConnected);

  auto list = c.Get("/api/unified/listdir?path=/", kAuth);
  CHECK(list.status == 404);
  CHECK(list.detail() == "not connected: connect first (POST /api/unified/connect)");

  const std::string good = R"({"mode":"smart","remote_root":"/data/runicorn"})";
  auto not_connected = c.Post("/api/unified/configure_mode", good, kAuth);
  CHECK(not_connected.status == 404);
  CHECK(not_connected.detail() == "not connected: connect first (POST /api/unified/connect)");
  for (auto [body, detail] : std::vector<std::pair<std::string, std::string>>{
           {R"({"mode":"fast","remote_root":"/r"})", "mode must be 'smart' or 'mirror'"},
           {R"({"mode":"smart"})", "remote_root is required"},
           {R"({"mode":"smart","remote_root":"/r","sync_interval_minutes":"5"})", "sync_interval_minutes must be a number"},
           {R"({"mode":"smart","remote_root":"/r","sync_interval_minutes":0})",
            "sync_interval_minutes must be a number above 0, at most 1440"},
           {R"({"mode":"mirror","remote_root":"/r","mirror_interval":0.1})",
            "mirror_interval must be a number of seconds from 0.5 to 3600"},
           {R"({"mode":"smart","remote_root":"/r","auto_sync":"yes"})", "auto_sync must be true or false"},
           {R"({"mode":"smart","remote_root":"/r","password":"x"})", "unknown field 'password'"}}) {
    INFO(body);
    auto r = c.Post("/api/unified/configure_mode", body, kAuth);
    CHECK(r.status == 400);
    CHECK(r.detail() == detail);
  }
  // A form post (what a page on another site can send without a preflight) is refused, and so
  // is a JSON post from another Origin.
  auto form = Send(srv.port(), http::verb::post, "/api/unified/configure_mode",
                   {{"Host", "127.0.0.1:" + std::to_string(srv.port())},
                    {"Authorization", std::string("Bearer ") + kTaskToken},
                    {"Content-Type", "application/x-www-form-urlencoded"}},
                   "mode=smart&remote_root=/r");
  CHECK(form.status == 415);
  CHECK(form.detail() == "Content-Type must be application/json");
  auto evil = Send(srv.port(), http::verb::post, "/api/unified/deactivate_mode",
                   {{"Host", "127.0.0.1:" + std::to_string(srv.port())},
                    {"Origin", "http://evil.example"},
                    {"Authorization", std::string("Bearer ") + kTaskToken},
                    {"Content-Type", "application/json"}},
                   "{}");
  CHECK(evil.status == 403);
  CHECK(evil.detail().rfind("Origin not allowed", 0) == 0);

  auto none = c.Post("/api/unified/deactivate_mode", "{}", kAuth);
  CHECK(none.status == 200);
  CHECK(none.body == R"({"ok":true,"mode":null,"message":"No sync mode was active"})");
  auto bad_mode = c.Post("/api/unified/deactivate_mode", R"({"mode":"all"})", kAuth);
  CHECK(bad_mode.status == 400);
  CHECK(bad_mode.detail() == "mode must be 'smart' or 'mirror'");
}

TEST_CASE("unified listdir: Runicorn's items with full paths, folders first, the home by default", "[ssh][unified]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  UnifiedServer srv;
  HttpClient c(srv.port());
  const std::string id = Connect(c, sshd);

  runtrack::testing::TempDir remote;
  const fs::path dir = fs::canonical(remote.path());
  fs::create_directories(dir / "b_dir");
  fs::create_directories(dir / "a_dir");
  std::ofstream(dir / "c.txt") << "12345";
  std::ofstream(dir / "0.txt") << "x";
  auto r = c.Get("/api/unified/listdir?path=" + dir.string(), kAuth);
  INFO(r.body);
  REQUIRE(r.status == 200);
  json::array items;
  for (auto [name, is_dir, size] : std::vector<std::tuple<std::string, bool, int>>{
           {"a_dir", true, 0}, {"b_dir", true, 0}, {"0.txt", false, 1}, {"c.txt", false, 5}})
    items.push_back(json::object{{"name", name},
                                 {"path", (dir / name).string()},
                                 {"type", is_dir ? "dir" : "file"},
                                 {"size", size},
                                 {"mtime", MtimeOf(dir / name)}});
  CHECK(r.body == json::serialize(json::object{{"ok", true}, {"current_path", dir.string()}, {"items", items}}));
  // "~/.." style paths resolve on the server: the answer names the canonical folder.
  auto sub = c.Get("/api/unified/listdir?path=" + (dir / "a_dir" / "..").string() + "&connection_id=" + id, kAuth);
  REQUIRE(sub.status == 200);
  CHECK(sub.json().at("current_path").as_string() == dir.string());

  const passwd* pw = ::getpwuid(::getuid());
  REQUIRE(pw != nullptr);
  auto home = c.Get("/api/unified/listdir", kAuth);
  REQUIRE(home.status == 200);
  CHECK(home.json().at("current_path").as_string() == fs::canonical(pw->pw_dir).string());

  auto missing = c.Get("/api/unified/listdir?path=" + (dir / "nope").string(), kAuth);
  CHECK(missing.status == 404);
  CHECK(missing.detail() == "remote path '" + (dir / "nope").string() + "' does not exist on " + id);
  auto unknown = c.Get("/api/unified/listdir?connection_id=someone@elsewhere:22", kAuth);
  CHECK(unknown.status == 404);
  CHECK(unknown.detail() == "no open SSH connection 'someone@elsewhere:22': connect first (POST /api/unified/connect)");

  // Two connections open: Runicorn's requests name none, so one must be named.
  const std::string second = Connect(c, sshd, "localhost");
  auto ambiguous = c.Get("/api/unified/listdir?path=/", kAuth);
  CHECK(ambiguous.status == 400);
  CHECK(ambiguous.detail() == "connection_id is required: 2 SSH connections are open");
  auto named = c.Get("/api/unified/listdir?path=" + dir.string() + "&connection_id=" + second, kAuth);
  CHECK(named.status == 200);
}

TEST_CASE("smart mode pulls a live remote run's new points on its interval, deactivate stops it", "[ssh][unified]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  UnifiedServer srv;
  // A sync_interval_minutes of 1 is 100 ms here.
  srv.remote().SetSyncMinuteForTesting(std::chrono::milliseconds(100));
  HttpClient c(srv.port());
  const std::string id = Connect(c, sshd);

  // The "remote host's" store, with a run still being written.
  runtrack::testing::TempDir remote;
  const fs::path root = remote.path() / "store";
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  runtrack::RunOptions o;
  o.project = "remote";
  o.name = "live";
  auto run = (*store)->CreateRun(o);
  REQUIRE(run.ok());
  for (int s = 1; s <= 10; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  const std::string run_id = (*run)->id();
  const fs::path remote_journal = runtrack::StoreLayout(root).journal_path(run_id);
  const fs::path local_journal = srv.layout().journal_path(run_id);

  // Error paths first: no such root, a folder that is not a store.
  auto absent = c.Post("/api/unified/configure_mode",
                       json::serialize(json::object{{"mode", "smart"}, {"remote_root", (root / "nope").string()}}), kAuth);
  CHECK(absent.status == 404);
  CHECK(absent.detail() == "remote root '" + (root / "nope").string() + "' does not exist on " + id);
  auto not_store = c.Post("/api/unified/configure_mode",
                          json::serialize(json::object{{"mode", "smart"}, {"remote_root", remote.path().string()}}), kAuth);
  CHECK(not_store.status == 400);
  CHECK(not_store.detail() == "remote root '" + remote.path().string() + "' on " + id +
                                  " is not a runicorn store (it has no runs folder)");
  CHECK(c.Get("/api/unified/status", kAuth).json().at("smart_mode") == json::parse(R"({"active":false})"));

  auto configured = c.Post("/api/unified/configure_mode",
                           json::serialize(json::object{{"mode", "smart"},
                                                        {"remote_root", root.string()},
                                                        {"auto_sync", true},
                                                        {"sync_interval_minutes", 1}}),
                           kAuth);
  INFO(configured.body);
  REQUIRE(configured.status == 200);
  CHECK(configured.body == json::serialize(json::object{
                               {"ok", true},
                               {"mode", "smart"},
                               {"message", "Smart mode configured successfully"},
                               {"config", json::object{{"remote_root", root.string()},
                                                       {"auto_sync", true},
                                                       {"sync_interval_minutes", 1},
                                                       {"connection_id", id}}}}));

  // The first pass mirrors the ten points.
  const std::string first_remote = ReadAll(remote_journal);
  json::value st = WaitStatus(c, [&](const json::value& v) {
    return v.at("smart_mode").at("syncs").as_int64() >= 1 && Holds(local_journal, first_remote);
  });
  const int64_t syncs_before = st.at("smart_mode").at("syncs").as_int64();
  {
    const auto& conn = st.at("connection").as_object();
    CHECK(conn.at("connected").as_bool());
    CHECK(conn.at("host").as_string() == "127.0.0.1");
    CHECK(conn.at("port").as_int64() == sshd.port());
    CHECK(conn.at("username").as_string() == sshd.user());
    CHECK(conn.at("connection_id").as_string() == id);
    CHECK(conn.at("uptime_seconds").as_int64() >= 0);
    const auto& smart = st.at("smart_mode").as_object();
    CHECK(smart.at("active").as_bool());
    CHECK(smart.at("remote_root").as_string() == root.string());
    CHECK(smart.at("auto_sync").as_bool());
    CHECK(smart.at("sync_interval_minutes").as_int64() == 1);
    CHECK(smart.at("last_sync_at").as_double() > 0);
    CHECK(smart.at("errors").as_int64() == 0);
    CHECK(smart.at("last_error").is_null());
    CHECK(smart.at("skipped").as_array().empty());
    CHECK(smart.at("runs_mirrored").as_int64() == 1);
    CHECK(smart.at("bytes_fetched").as_int64() >= static_cast<int64_t>(first_remote.size()));
    CHECK(st.at("mirror_mode") == json::parse(R"({"active":false})"));
    CHECK(st.at("cached_experiments").as_int64() == 1);
    CHECK(st.at("cached_artifacts").as_int64() == 0);
  }

  // The run goes on: a later pass, on the interval, brings the new points with no request.
  for (int s = 11; s <= 25; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  const std::string second_remote = ReadAll(remote_journal);
  REQUIRE(second_remote.size() > first_remote.size());
  st = WaitStatus(c, [&](const json::value& v) {
    return v.at("smart_mode").at("syncs").as_int64() > syncs_before && Holds(local_journal, second_remote);
  });
  CHECK(st.at("smart_mode").at("next_sync_at").is_double());

  auto off = c.Post("/api/unified/deactivate_mode", R"({"mode":"smart"})", kAuth);
  REQUIRE(off.status == 200);
  const json::value off_json = off.json();
  CHECK(off_json.at("ok").as_bool());
  CHECK(off_json.at("mode").as_string() == "smart");
  CHECK(off_json.at("message").as_string() == "Smart mode deactivated");
  CHECK(off_json.at("syncs").as_int64() >= 2);
  auto after = c.Get("/api/unified/status", kAuth);
  REQUIRE(after.status == 200);
  CHECK(after.json().at("smart_mode") == json::parse(R"({"active":false})"));
  CHECK(after.json().at("connection").at("connected").as_bool());
  CHECK(after.json().at("cached_experiments").as_int64() == 0);

  // Deactivate returned after the thread ended: points logged now are not pulled, however long
  // we wait (here 30 intervals).
  const uint64_t local_size = SizeOr0(local_journal);
  for (int s = 26; s <= 30; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  CHECK(SizeOr0(local_journal) == local_size);
  CHECK(SizeOr0(remote_journal) > local_size);
  REQUIRE((*run)->Finish(runtrack::RunStatus::kFinished).ok());
}

TEST_CASE("mirror mode replaces smart mode, disconnecting without an id ends the mode with it", "[ssh][unified]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  UnifiedServer srv;
  srv.remote().SetSyncMinuteForTesting(std::chrono::milliseconds(6000));  // a mirror second is 100 ms
  HttpClient c(srv.port());
  const std::string id = Connect(c, sshd);
  runtrack::testing::TempDir remote;
  const fs::path root = remote.path() / "store";
  std::string run_id;
  {
    auto store = runtrack::Store::Open(root);
    REQUIRE(store.ok());
    run_id = MakeRun(**store, "p", "finished", 12);
  }

  auto smart = c.Post("/api/unified/configure_mode",
                      json::serialize(json::object{{"mode", "smart"}, {"remote_root", root.string()}, {"auto_sync", false}}),
                      kAuth);
  REQUIRE(smart.status == 200);
  // Without auto_sync: one pass, then idle with nothing scheduled.
  json::value st = WaitStatus(c, [](const json::value& v) { return v.at("smart_mode").at("state").as_string() == "idle"; });
  CHECK(st.at("smart_mode").at("syncs").as_int64() == 1);
  CHECK(st.at("smart_mode").at("next_sync_at").is_null());
  CHECK(st.at("smart_mode").at("sync_interval_minutes").as_int64() == 5);
  CHECK(ReadAll(srv.layout().journal_path(run_id)) == ReadAll(runtrack::StoreLayout(root).journal_path(run_id)));

  auto mirror = c.Post("/api/unified/configure_mode",
                       json::serialize(json::object{{"mode", "mirror"}, {"remote_root", root.string()}, {"mirror_interval", 1.5}}),
                       kAuth);
  REQUIRE(mirror.status == 200);
  // Compared as JSON: the server writes 1.5 where Boost's serializer writes 1.5E0.
  CHECK(mirror.json() == json::value(json::object{
                           {"ok", true},
                           {"mode", "mirror"},
                           {"message", "Mirror mode configured successfully"},
                           {"config", json::object{{"remote_root", root.string()}, {"mirror_interval", 1.5}, {"connection_id", id}}}}));
  st = WaitStatus(c, [](const json::value& v) { return v.at("mirror_mode").at("active").as_bool() &&
                                                       v.at("mirror_mode").at("syncs").as_int64() >= 2; });
  CHECK(st.at("smart_mode") == json::parse(R"({"active":false})"));
  CHECK(st.at("mirror_mode").at("mirror_interval").as_double() == 1.5);
  // The run was complete locally already: later passes fetch nothing.
  CHECK(st.at("mirror_mode").at("last_sync_bytes").as_int64() == 0);

  auto bye = c.Post("/api/unified/disconnect", "{}", kAuth);
  REQUIRE(bye.status == 200);
  CHECK(bye.body == R"({"ok":true,"connection_id":")" + id + R"(","connected":false})");
  auto after = c.Get("/api/unified/status", kAuth);
  CHECK(after.body == kNotConnected);
  auto again = c.Post("/api/unified/disconnect", "{}", kAuth);
  CHECK(again.status == 404);
  CHECK(again.detail() == "not connected: connect first (POST /api/unified/connect)");
}

}  // namespace runicorn::testing
