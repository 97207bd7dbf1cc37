// WebSocket streams against a live writer in another process (`runicorn simulate`): the client
// subscribed before training starts receives every log line and every metric point, in order.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <boost/beast/websocket/error.hpp>

#include "server_fixture.h"

using namespace runicorn::testing;
namespace bj = boost::json;

#ifndef RUNICORN_BINARY
#error "RUNICORN_BINARY must name the runicorn executable (set by apps/CMakeLists.txt)"
#endif

namespace {

// Starts `runicorn simulate` writing into `store`; returns its pid.
pid_t StartWriter(const std::filesystem::path& store, const std::string& run_id, int steps,
                  const std::filesystem::path& go_file) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string steps_s = std::to_string(steps);
    execl(RUNICORN_BINARY, RUNICORN_BINARY, "simulate", "--storage", store.c_str(), "--run-id", run_id.c_str(),
          "--steps", steps_s.c_str(), "--interval-ms", "2", "--log-every", "1", "--wait-file", go_file.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void WaitForRun(HttpClient& c, const std::string& id) {
  for (int i = 0; i < 500; ++i) {
    if (c.Get("/api/runs/" + id).status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("run never indexed");
}

}  // namespace

TEST_CASE("log and metric streams deliver a live writer's output in order, nothing missing", "[server][websocket]") {
  TestServer srv;
  HttpClient c(srv.port());
  const std::string id = "20250101_120000_abc123";
  const int steps = 300;
  auto go = srv.dir() / "go";
  pid_t writer = StartWriter(srv.ctx().root, id, steps, go);
  WaitForRun(c, id);

  WsClient logs(srv.port(), "/api/runs/" + id + "/logs/ws");
  WsClient metrics(srv.port(), "/api/runs/" + id + "/metrics/ws?metrics=loss");
  CHECK(logs.status == 101);
  // Existing lines first.
  REQUIRE(logs.Next(std::chrono::seconds(5)).value_or("") == "simulated run created");
  std::ofstream(go).put('1');

  // Every line of the run, in order: "step 1 ..." .. "step N ...", then the final line.
  for (int s = 1; s <= steps; ++s) {
    auto line = logs.Next(std::chrono::seconds(10));
    REQUIRE(line.has_value());
    REQUIRE(line->rfind("step " + std::to_string(s) + " loss=", 0) == 0);
  }
  REQUIRE(logs.Next(std::chrono::seconds(10)).value_or("") == "simulated run finished");

  // Every loss point, steps strictly increasing from 1 to N across messages.
  int64_t expect = 1;
  while (expect <= steps) {
    auto msg = metrics.Next(std::chrono::seconds(10));
    REQUIRE(msg.has_value());
    auto o = bj::parse(*msg).as_object();
    REQUIRE(o.at("type").as_string() == "points");
    REQUIRE(o.at("metric").as_string() == "loss");
    const auto& st = o.at("steps").as_array();
    const auto& vals = o.at("values").as_array();
    REQUIRE(st.size() == vals.size());
    REQUIRE(o.at("wall_times").as_array().size() == st.size());
    for (size_t i = 0; i < st.size(); ++i) {
      REQUIRE(st[i].as_int64() == expect);
      REQUIRE(vals[i].as_double() == Approx(1.0 / expect));
      ++expect;
    }
  }
  CHECK(WaitExit(writer) == 0);
  // Nothing after the end: no duplicate points are pushed.
  CHECK_FALSE(metrics.Next(std::chrono::milliseconds(300)).has_value());
  logs.Close();
  metrics.Close();
}

TEST_CASE("metric stream after_step replays stored points and bad requests fail before the upgrade", "[server][websocket]") {
  TestServer srv;
  std::string id = MakeRun(srv.store(), "p", "n", 30);
  srv.Sync();
  WsClient replay(srv.port(), "/api/runs/" + id + "/metrics/ws?metrics=accuracy&after_step=20");
  auto msg = replay.Next(std::chrono::seconds(5));
  REQUIRE(msg.has_value());
  auto o = bj::parse(*msg).as_object();
  CHECK(o.at("steps").as_array().size() == 10);
  CHECK(o.at("steps").as_array().front().as_int64() == 21);
  replay.Close();

  // By default only new points: a finished run sends nothing.
  WsClient live(srv.port(), "/api/runs/" + id + "/metrics/ws");
  CHECK_FALSE(live.Next(std::chrono::milliseconds(300)).has_value());

  CHECK_THROWS(WsClient(srv.port(), "/api/runs/20200101_000000_abcdef/logs/ws"));  // 404
  CHECK_THROWS(WsClient(srv.port(), "/api/runs/..%2Fx/logs/ws"));                   // 400
  CHECK_THROWS(WsClient(srv.port(), "/api/runs/" + id + "/metrics/ws?after_step=x"));
  CHECK_THROWS(WsClient(srv.port(), "/api/health/ws"));
}

TEST_CASE("server shutdown closes open WebSockets with a close frame", "[server][websocket][lifecycle]") {
  auto srv = std::make_unique<TestServer>();
  std::string id = MakeRun(srv->store(), "p", "n", 3);
  srv->Sync();
  WsClient ws(srv->port(), "/api/runs/" + id + "/logs/ws");
  REQUIRE(ws.Next(std::chrono::seconds(5)).value_or("") == "line one");
  REQUIRE(ws.Next(std::chrono::seconds(5)).value_or("") == "line two");
  auto t0 = std::chrono::steady_clock::now();
  srv->http_server().Shutdown();
  CHECK_FALSE(ws.Next(std::chrono::seconds(3)).has_value());
  CHECK(ws.last_error == boost::beast::websocket::error::closed);
  srv->http_server().Wait();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
}
