// The viewer's front door against hostile web pages and misuse: cross-site request forgery, DNS
// rebinding, CORS only for allow-listed origins, Content-Type on state-changing routes, unknown
// routes behind the token, malformed WebSocket keys, rate limits keyed on the right client, and
// default limits one person's UI never reaches; the policy classes on their own.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>

#include "beast_aliases.h"
#include "raw_http.h"
#include "server/client_address.h"
#include "server/connection_limit.h"
#include "server/origin_policy.h"
#include "server/websocket_key.h"
#include "server_fixture.h"

using namespace runicorn::testing;
namespace rs = runicorn::server;

namespace {

std::string Host(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }
std::string SameOrigin(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

std::vector<std::string> RunIds(const HttpResult& r) {
  std::vector<std::string> ids;
  const auto doc = r.json();
  for (const auto& run : doc.as_array()) ids.emplace_back(run.as_object().at("id").as_string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> RecycleBinIds(const HttpResult& r) {
  std::vector<std::string> ids;
  const auto doc = r.json();
  for (const auto& run : doc.as_object().at("deleted_runs").as_array())
    ids.emplace_back(run.as_object().at("id").as_string());
  return ids;
}

rs::OriginPolicy Policy(std::vector<std::string> origins, std::vector<std::string> hosts = {}) {
  auto p = rs::OriginPolicy::Create({.allowed_origins = std::move(origins), .allowed_hosts = std::move(hosts)});
  REQUIRE(p.ok());
  return *p;
}

constexpr const char* kEvil = "http://evil.example";

}  // namespace

TEST_CASE("CSRF chain: a cross-origin page can neither soft-delete, empty the recycle bin nor move the store",
          "[server][security][csrf]") {
  TestServer srv;
  std::string kept = MakeRun(srv.store(), "p", "kept", 3);
  std::string binned = MakeRun(srv.store(), "p", "binned", 3);
  srv.Sync();
  const uint16_t port = srv.port();
  const std::map<std::string, std::string> same = {{"Host", Host(port)}, {"Content-Type", "application/json"}};
  // Set up the victim's state legitimately: one run in the recycle bin.
  auto setup = Send(port, http::verb::post, "/api/runs/soft-delete", same, R"({"run_ids": [")" + binned + R"("]})");
  REQUIRE(setup.status == 200);
  const auto config_before = Send(port, http::verb::get, "/api/config", {{"Host", Host(port)}});
  REQUIRE(config_before.status == 200);

  // What a page on evil.example can send without a preflight: a text/plain (or form) POST that
  // carries its Origin; older browsers may send only Sec-Fetch-Site.
  const std::map<std::string, std::string> from_evil = {
      {"Host", Host(port)}, {"Origin", kEvil}, {"Content-Type", "text/plain;charset=UTF-8"}};
  auto del = Send(port, http::verb::post, "/api/runs/soft-delete", from_evil, R"({"run_ids": [")" + kept + R"("]})");
  CHECK(del.status == 403);
  CHECK(del.detail().rfind("Origin not allowed", 0) == 0);
  CHECK(del.header("access-control-allow-origin").empty());
  auto empty = Send(port, http::verb::post, "/api/recycle-bin/empty", from_evil, R"({"confirm": true})");
  CHECK(empty.status == 403);
  auto root = Send(port, http::verb::post, "/api/config/user_root_dir", from_evil, R"({"path": "/tmp/evil"})");
  CHECK(root.status == 403);
  // The same requests as JSON from the hostile origin (the browser would preflight; the preflight
  // is refused, and so is the request if it came anyway).
  auto json_from_evil = from_evil;
  json_from_evil["Content-Type"] = "application/json";
  CHECK(Send(port, http::verb::options, "/api/recycle-bin/empty", json_from_evil).status == 403);
  CHECK(Send(port, http::verb::post, "/api/recycle-bin/empty", json_from_evil, R"({"confirm": true})").status == 403);
  // No Origin, but the browser says the request came from another site.
  auto no_origin = same;
  no_origin["Sec-Fetch-Site"] = "cross-site";
  CHECK(Send(port, http::verb::post, "/api/recycle-bin/empty", no_origin, R"({"confirm": true})").status == 403);
  // No Origin at all (a client that is not a browser) but not JSON: refused before any handler.
  const std::map<std::string, std::string> plain = {{"Host", Host(port)}, {"Content-Type", "text/plain"}};
  auto plain_empty = Send(port, http::verb::post, "/api/recycle-bin/empty", plain, R"({"confirm": true})");
  CHECK(plain_empty.status == 415);
  CHECK(plain_empty.detail() == "Content-Type must be application/json");
  auto form = plain;
  form["Content-Type"] = "application/x-www-form-urlencoded";
  CHECK(Send(port, http::verb::post, "/api/config/user_root_dir", form, "path=/tmp/evil").status == 415);
  form["Content-Type"] = "multipart/form-data; boundary=x";
  CHECK(Send(port, http::verb::post, "/api/runs/soft-delete", form, "--x--").status == 415);
  // A state-changing request without a body needs no Content-Type (the Python client's bodiless
  // POSTs, the UI's DELETEs): it reaches the handler, which wants {"confirm": true}.
  auto bodiless = Send(port, http::verb::post, "/api/recycle-bin/empty", {{"Host", Host(port)}});
  CHECK(bodiless.status == 400);
  CHECK(bodiless.detail() != "Content-Type must be application/json");

  // The store is unchanged: the kept run is listed, the binned one is still in the bin, the
  // configured root is the same.
  CHECK(RunIds(Send(port, http::verb::get, "/api/runs", {{"Host", Host(port)}})) == std::vector<std::string>{kept});
  CHECK(RecycleBinIds(Send(port, http::verb::get, "/api/recycle-bin", {{"Host", Host(port)}})) ==
        std::vector<std::string>{binned});
  CHECK(Send(port, http::verb::get, "/api/config", {{"Host", Host(port)}}).body == config_before.body);

  // The viewer's own page (same origin) and JSON with a charset still work.
  auto own = same;
  own["Origin"] = SameOrigin(port);
  own["Sec-Fetch-Site"] = "same-origin";
  own["Content-Type"] = "application/json; charset=utf-8";
  auto restored = Send(port, http::verb::post, "/api/recycle-bin/restore", own, R"({"run_ids": [")" + binned + R"("]})");
  CHECK(restored.status == 200);
  CHECK(restored.header("access-control-allow-origin").empty());  // same origin needs no CORS
  CHECK(RunIds(Send(port, http::verb::get, "/api/runs", {{"Host", Host(port)}})).size() == 2);
}

TEST_CASE("DNS rebinding: a Host that is not loopback, local or configured is refused", "[server][security][host]") {
  TestServer srv({.origin_policy = Policy({}, {"runs.lan"})});
  const uint16_t port = srv.port();
  const std::string p = ":" + std::to_string(port);
  for (std::string bad : std::vector<std::string>{"evil.example" + p, "evil.example", "127.0.0.1.evil.example" + p,
                                                  "localhost.evil.example", "10.1.2.3" + p}) {
    INFO(bad);
    auto r = Send(port, http::verb::get, "/api/runs", {{"Host", bad}});
    CHECK(r.status == 403);
    CHECK(r.detail().rfind("Host not allowed", 0) == 0);
    CHECK(Send(port, http::verb::get, "/", {{"Host", bad}}).status == 403);  // the UI's page too
    CHECK(Send(port, http::verb::post, "/api/recycle-bin/empty", {{"Host", bad}, {"Content-Type", "application/json"}},
               R"({"confirm": true})")
              .status == 403);
  }
  for (std::string good : std::vector<std::string>{"127.0.0.1" + p, "127.0.0.1", "localhost" + p, "LOCALHOST" + p,
                                                   "localhost." + p, "app.localhost" + p, "[::1]" + p, "127.0.0.2",
                                                   "runs.lan" + p, "RUNS.LAN"}) {
    INFO(good);
    CHECK(Send(port, http::verb::get, "/api/runs", {{"Host", good}}).status == 200);
  }
  auto missing = Send(port, http::verb::get, "/api/runs", {});
  CHECK(missing.status == 400);
  CHECK(missing.detail() == "Missing Host header");
  for (std::string malformed : {"::1", "[::1", "a b", "host:99999", "host:", "host:x", "[1.2.3.4]"}) {
    INFO(malformed);
    CHECK(Send(port, http::verb::get, "/api/runs", {{"Host", malformed}}).status == 400);
  }
}

TEST_CASE("CORS headers only for allow-listed origins, other origins are refused on every method",
          "[server][security][cors]") {
  TestServer srv({.origin_policy = Policy({"https://dash.example.com"})});
  const uint16_t port = srv.port();
  auto allowed = Send(port, http::verb::get, "/api/runs", {{"Host", Host(port)}, {"Origin", "https://dash.example.com"}});
  CHECK(allowed.status == 200);
  CHECK(allowed.header("access-control-allow-origin") == "https://dash.example.com");
  CHECK(allowed.header("vary") == "Origin");
  auto pre = Send(port, http::verb::options, "/api/runs/soft-delete",
                  {{"Host", Host(port)}, {"Origin", "https://dash.example.com:443"}});
  CHECK(pre.status == 204);
  CHECK(pre.header("access-control-allow-origin") == "https://dash.example.com:443");
  CHECK(pre.header("access-control-allow-headers") == "Authorization, Content-Type");

  for (std::string origin : std::vector<std::string>{"http://dash.example.com", "https://dash.example.com:8443",
                                                     "https://evil.example", "null", "http://127.0.0.1:1",
                                                     "http://localhost:" + std::to_string(port)}) {
    INFO(origin);
    auto r = Send(port, http::verb::get, "/api/runs", {{"Host", Host(port)}, {"Origin", origin}});
    CHECK(r.status == 403);
    CHECK(r.header("access-control-allow-origin").empty());
  }
  // No Origin (curl, the CLI, the Python client) and the same origin: served, no CORS headers.
  auto plain = Send(port, http::verb::get, "/api/runs", {{"Host", Host(port)}});
  CHECK(plain.status == 200);
  CHECK(plain.header("access-control-allow-origin").empty());
  auto own = Send(port, http::verb::get, "/api/runs", {{"Host", "localhost:" + std::to_string(port)},
                                                       {"Origin", "http://localhost:" + std::to_string(port)}});
  CHECK(own.status == 200);
  CHECK(own.header("access-control-allow-origin").empty());
  // Errors the session answers itself (here 413) carry no wildcard either.
  auto big = Send(port, http::verb::post, "/api/runs/soft-delete", {{"Host", Host(port)}, {"Content-Type", "application/json"}},
                  std::string(70000, ' '));
  CHECK(big.status == 413);
  CHECK(big.header("access-control-allow-origin").empty());
}

TEST_CASE("WebSockets: cross-origin upgrades are 403, malformed keys 400, a valid handshake is accepted",
          "[server][security][websocket]") {
  TestServer srv;
  std::string id = MakeRun(srv.store(), "p", "n", 3);
  srv.Sync();
  const uint16_t port = srv.port();
  const std::string target = "/api/runs/" + id + "/logs/ws";
  auto upgrade = [&](const std::string& key, std::map<std::string, std::string> extra = {}) {
    std::map<std::string, std::string> h = {{"Host", Host(port)}, {"Connection", "Upgrade"}, {"Upgrade", "websocket"},
                                            {"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Key", key}};
    for (auto& [k, v] : extra) h[k] = v;
    return Send(port, http::verb::get, target, h);
  };
  for (std::string bad : {"abc", "", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
                          "dGhlIHNhbXBsZSBub25j!Q==", "dGhlIHNhbXBsZSBub25jZQ.."}) {
    INFO(bad);
    auto r = upgrade(bad);
    CHECK(r.status == 400);
    CHECK(r.detail() == "Malformed Sec-WebSocket-Key: it must be 16 bytes in base64");
  }
  CHECK(upgrade("dGhlIHNhbXBsZSBub25jZQ==", {{"Origin", kEvil}}).status == 403);
  CHECK(upgrade("dGhlIHNhbXBsZSBub25jZQ==").status == 101);
  WsClient ok(port, target, {{"Host", Host(port)}, {"Origin", SameOrigin(port)}});
  CHECK(ok.Next(std::chrono::seconds(5)).value_or("") == "line one");
  ok.Close();
}

TEST_CASE("with a token, unknown and wrong-method /api routes answer 401 before 404/405", "[server][security][auth]") {
  TestServer srv({.token = "correct-horse"});
  HttpClient c(srv.port());
  for (std::string target : {"/api/nope", "/api/v9/secret", "/api/runs/x/y/z"}) {
    INFO(target);
    auto none = c.Get(target);
    CHECK(none.status == 401);
    CHECK(none.detail() == "Not authenticated");
    CHECK(none.header("www-authenticate") == "Bearer");
    CHECK(c.Get(target, {{"Authorization", "Bearer wrong"}}).status == 401);
    CHECK(c.Get(target, {{"Authorization", "Bearer correct-horse"}}).status == 404);
  }
  CHECK(c.Request(http::verb::delete_, "/api/runs").status == 401);
  auto wrong_method = c.Request(http::verb::delete_, "/api/runs", {}, {{"Authorization", "Bearer correct-horse"}});
  CHECK(wrong_method.status == 405);
  CHECK(wrong_method.header("allow") == "GET");
  CHECK(c.Get("/api/health").status == 200);  // still public
  CHECK(c.Get("/nothing-here").status == 404);  // static files are not behind the token

  TestServer open;  // without a token, 404 as before
  CHECK(HttpClient(open.port()).Get("/api/nope").status == 404);
}

TEST_CASE("rate limits are keyed on the peer, or on X-Forwarded-For only from a trusted proxy",
          "[server][security][ratelimit]") {
  auto limits = rs::RateLimitConfig::FromJson(R"({"classes": {"runs_list": 2}})");
  REQUIRE(limits.ok());
  SECTION("no trusted proxy: the header is ignored") {
    TestServer srv({.rate_limits = *limits});
    HttpClient c(srv.port());
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.1"}}).status == 200);
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.2"}}).status == 200);
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.3"}}).status == 429);  // same peer: one budget
  }
  SECTION("127.0.0.1 trusted: each forwarded client has its own budget") {
    auto proxies = rs::ClientAddressResolver::Create({"127.0.0.1"});
    REQUIRE(proxies.ok());
    TestServer srv({.rate_limits = *limits, .client_addresses = *proxies});
    HttpClient c(srv.port());
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.1"}}).status == 200);
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.1"}}).status == 200);
    auto limited = c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.1"}});
    CHECK(limited.status == 429);
    CHECK(limited.header("retry-after") != "");
    // A client prepending its own entry does not get a fresh budget: the proxy's entry counts.
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "1.2.3.4, 10.0.0.1"}}).status == 429);
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.2"}}).status == 200);
    CHECK(c.Get("/api/runs", {{"X-Forwarded-For", "10.0.0.2"}}).status == 200);
    CHECK(c.Get("/api/runs").status == 200);  // the proxy's own requests: keyed on the proxy
  }
}

TEST_CASE("default rate limits never trip one person's UI (two tabs polling)", "[server][security][ratelimit]") {
  TestServer srv({.rate_limits = rs::RateLimitConfig::Defaults()});
  std::string id = MakeRun(srv.store(), "p", "n", 20);
  srv.Sync();
  HttpClient tab1(srv.port()), tab2(srv.port());
  // Far more than two tabs send in a minute of polling runs, charts and the recycle bin.
  const std::vector<std::string> targets = {"/api/runs", "/api/runs/" + id, "/api/runs/" + id + "/metrics_step",
                                            "/api/recycle-bin", "/api/health", "/api/config"};
  for (int i = 0; i < 150; ++i) {
    for (const auto& t : targets) {
      auto r1 = tab1.Get(t);
      auto r2 = tab2.Get(t);
      REQUIRE(r1.status == 200);
      REQUIRE(r2.status == 200);
    }
  }
  auto last = tab1.Get("/api/runs");
  CHECK(last.header("x-ratelimit-limit") == "6000");
  CHECK(last.header("x-ratelimit-remaining") == std::to_string(6000 - 301));
}

TEST_CASE("origin policy: origins normalize, allow-lists are validated, Host verdicts", "[server][security][unit]") {
  CHECK(rs::NormalizeOrigin("http://localhost:23300") == "http://localhost:23300");
  CHECK(rs::NormalizeOrigin("HTTP://LocalHost") == "http://localhost:80");
  CHECK(rs::NormalizeOrigin("https://a.example/") == "https://a.example:443");
  CHECK(rs::NormalizeOrigin("http://[::1]:8080") == "http://[::1]:8080");
  for (std::string bad : {"null", "*", "file://", "ftp://a", "http://a/path", "http://user@a", "http://a:0",
                          "http://a:65536", "http://", "https://a.example?x"}) {
    INFO(bad);
    CHECK_FALSE(rs::NormalizeOrigin(bad).has_value());
  }
  auto star = rs::OriginPolicy::Create({.allowed_origins = {"*"}});
  REQUIRE_FALSE(star.ok());
  CHECK(star.status().message().find("no wildcard") != std::string::npos);
  CHECK_FALSE(rs::OriginPolicy::Create({.allowed_hosts = {"host:80"}}).ok());
  CHECK_FALSE(rs::OriginPolicy::Create({.allowed_hosts = {"http://host"}}).ok());

  using HV = rs::OriginPolicy::HostVerdict;
  using OV = rs::OriginPolicy::OriginVerdict;
  rs::OriginPolicy none;
  CHECK(none.CheckHost("192.168.1.5:23300", "192.168.1.5") == HV::kAllowed);  // the address connected to
  CHECK(none.CheckHost("192.168.1.6:23300", "192.168.1.5") == HV::kRefused);
  CHECK(none.CheckHost("myhost:23300", "192.168.1.5") == HV::kRefused);
  CHECK(none.CheckHost("10.0.0.1", "::ffff:10.0.0.1") == HV::kAllowed);
  CHECK(Policy({}, {"*"}).CheckHost("anything.example", "") == HV::kAllowed);
  CHECK(none.CheckOrigin("", "localhost:1") == OV::kAbsent);
  CHECK(none.CheckOrigin("http://localhost:1", "localhost:1") == OV::kSameOrigin);
  CHECK(none.CheckOrigin("http://localhost", "localhost:80") == OV::kSameOrigin);
  CHECK(none.CheckOrigin("https://localhost:1", "localhost:1") == OV::kRefused);  // we serve http
  CHECK(none.CheckOrigin("http://localhost:2", "localhost:1") == OV::kRefused);
  CHECK(none.CheckOrigin("http://127.0.0.1:1", "localhost:1") == OV::kRefused);
  CHECK(Policy({"http://a.example:8080"}).CheckOrigin("http://A.example:8080/", "localhost:1") == OV::kAllowListed);
}

TEST_CASE("client address: trusted proxies and X-Forwarded-For", "[server][security][unit]") {
  CHECK(rs::CanonicalIp("::ffff:127.0.0.1") == "127.0.0.1");
  CHECK(rs::CanonicalIp("0:0:0:0:0:0:0:1") == "::1");
  CHECK_FALSE(rs::CanonicalIp("localhost").has_value());
  CHECK_FALSE(rs::ClientAddressResolver::Create({"proxy.lan"}).ok());
  rs::ClientAddressResolver none;
  CHECK(none.Resolve("127.0.0.1", "10.0.0.1") == "127.0.0.1");
  auto r = rs::ClientAddressResolver::Create({"127.0.0.1", "10.0.0.254"});
  REQUIRE(r.ok());
  CHECK(r->Resolve("127.0.0.1", "") == "127.0.0.1");
  CHECK(r->Resolve("127.0.0.1", "10.0.0.1") == "10.0.0.1");
  CHECK(r->Resolve("::ffff:127.0.0.1", " 10.0.0.1 ") == "10.0.0.1");
  CHECK(r->Resolve("127.0.0.1", "6.6.6.6, 10.0.0.1, 10.0.0.254") == "10.0.0.1");
  CHECK(r->Resolve("127.0.0.1", "10.0.0.254") == "10.0.0.254");
  CHECK(r->Resolve("127.0.0.1", "garbage, 10.0.0.1") == "127.0.0.1");  // unparsable: not trusted
  CHECK(r->Resolve("192.168.0.9", "10.0.0.1") == "192.168.0.9");      // not from a trusted proxy
}

TEST_CASE("WebSocket key validation and the connection limit's slots", "[server][security][unit]") {
  CHECK(rs::IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(rs::IsValidWebSocketKey("AAAAAAAAAAAAAAAAAAAA+/==") );
  CHECK_FALSE(rs::IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ"));
  CHECK_FALSE(rs::IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZ==="));
  CHECK_FALSE(rs::IsValidWebSocketKey(" GhlIHNhbXBsZSBub25jZQ=="));

  rs::detail::ConnectionLimit limit(2);
  rs::detail::ConnectionSlot a, b, c;
  CHECK(limit.TryAcquire(&a));
  CHECK_FALSE(limit.WaitForSlot([] { FAIL("a slot is free: the callback must be dropped"); }));
  CHECK(limit.TryAcquire(&b));
  CHECK_FALSE(limit.TryAcquire(&c));
  int woken = 0;
  CHECK(limit.WaitForSlot([&] { ++woken; }));
  CHECK(limit.in_use() == 2);
  { rs::detail::ConnectionSlot moved = std::move(a); }  // released once, by the new owner
  CHECK(woken == 1);
  CHECK(limit.in_use() == 1);
  b = rs::detail::ConnectionSlot();
  CHECK(woken == 1);  // the callback runs once
  CHECK(limit.in_use() == 0);
}

TEST_CASE("at the connection limit, idle connections make room and requests are still answered",
          "[server][security][connections]") {
  TestServer srv({.max_connections = 4});
  const uint16_t port = srv.port();
  net::io_context ioc;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 20; ++i) {
    idle.emplace_back(ioc);
    idle.back().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  // Each new connection over the limit closes the longest-idle ones, so this one gets served.
  for (int i = 0; i < 5; ++i) CHECK(Send(port, http::verb::get, "/api/health", {{"Host", Host(port)}}).status == 200);
  // The first idle connections were closed by the server (read sees EOF).
  timeval tv{5, 0};
  ::setsockopt(idle.front().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char byte;
  boost::system::error_code ec;
  idle.front().read_some(net::buffer(&byte, 1), ec);
  CHECK(ec == net::error::eof);
}
