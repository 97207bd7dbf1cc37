// Reads of a live run among replicas (server/read_forwarding.h, docs/SCALE-OUT.md "Reads of a live
// run"), in process: two viewers (TestServer) on one private PostgreSQL — the run index from it
// (viewer --catalog) and run ownership by its advisory locks. A writer ships a live run to A (its
// owner); every read of the run's data at B is answered by A.
#ifdef RUNICORN_HAVE_PG
#include <thread>

#include <boost/beast/websocket/error.hpp>
#include <boost/json.hpp>

#include "pg/in_process_replica.h"
#include "pg/pg_test_support.h"
#include "pg/replica_preference.h"
#include "pg/shipping_writer.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server/ingest_forwarding.h"
#include "server/read_forwarding.h"
#include "server_fixture.h"
#include "service/pg/pg_run_ownership.h"
#include "test_support.h"

using namespace runicorn::testing;
using runicorn::server::IngestForwarding;
using runicorn::server::ReadForwarding;
using runicorn::server::ReadForwardingOptions;
using runicorn::service::pg::PgRunOwnership;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
namespace bj = boost::json;

namespace {

Replica StartReplica(const std::string& db, const std::string& name, const std::string& token = {},
                     ReadForwardingOptions options = {}) {
  return StartInProcessReplica(db, name, token, options);
}

// Reads WebSocket messages until `done` says enough (or 10 s pass: then the test fails on them).
std::vector<std::string> ReadUntil(WsClient& ws, const std::function<bool(const std::vector<std::string>&)>& done) {
  std::vector<std::string> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done(got) && std::chrono::steady_clock::now() < deadline) {
    auto m = ws.Next(std::chrono::milliseconds(10000));
    if (!m) break;
    got.push_back(*m);
  }
  return got;
}

// The (step, value) pairs of a metric stream's messages, in arrival order; values as the server
// wrote them (shortest round-trip text: Boost.JSON's parser is not exact to the last bit).
std::vector<std::pair<int64_t, std::string>> Points(const std::vector<std::string>& messages) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const auto& m : messages) {
    bj::object o = bj::parse(m).as_object();
    REQUIRE(o.at("type").as_string() == "points");
    REQUIRE(o.at("metric").as_string() == "loss");
    const auto& steps = o.at("steps").as_array();
    const auto& values = o.at("values").as_array();
    REQUIRE(steps.size() == values.size());
    REQUIRE(o.at("wall_times").as_array().size() == steps.size());
    const size_t from = m.find("\"values\":[") + 10, to = m.find(']', from);
    std::vector<std::string> texts;
    for (size_t at = from; at < to;) {
      size_t comma = std::min(m.find(',', at), to);
      texts.push_back(m.substr(at, comma - at));
      at = comma + 1;
    }
    REQUIRE(texts.size() == values.size());
    for (size_t i = 0; i < steps.size(); ++i) out.emplace_back(steps[i].as_int64(), texts[i]);
  }
  return out;
}

}  // namespace

TEST_CASE("a live run owned by another replica is read through this one byte for byte",
          "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  // A is the replica the run's bucket belongs to: the writer's first ingest makes it the owner.
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  w.Log(0, 3000);
  w.Text("epoch 1");
  w.Ship(a.url);  // A takes the run
  a.server->Sync();
  b.server->Sync();
  const std::string id = w.id();
  REQUIRE(a.ownership->Claim(id)->here);

  HttpClient ca(a.server->port()), cb(b.server->port());
  for (const std::string& target :
       {fmt::format("/api/runs/{}/metrics_step", id), fmt::format("/api/runs/{}/metrics?time=relative", id),
        fmt::format("/api/runs/{}/metrics_step?metrics=loss&downsample=100&method=lttb", id),
        fmt::format("/api/runs/{}/metrics_step?metrics=loss&start_step=10&end_step=20", id),
        fmt::format("/api/export/{}/csv", id), fmt::format("/api/runs/{}/media", id),
        fmt::format("/api/runs/{}/metrics_step?metrics=loss&downsample=x", id)}) {
    INFO(target);
    auto at_owner = ca.Get(target);
    auto here = cb.Get(target);
    CHECK(here.status == at_owner.status);
    CHECK(here.body == at_owner.body);
    CHECK(here.header("content-type") == at_owner.header("content-type"));
    CHECK(here.header("content-disposition") == at_owner.header("content-disposition"));
  }
  {
    // The JSON export says when it was made: everything else is the owner's.
    auto at_owner = ca.Get(fmt::format("/api/export/{}/json", id));
    auto here = cb.Get(fmt::format("/api/export/{}/json", id));
    CHECK(here.status == 200);
    CHECK(here.header("content-disposition") == fmt::format("attachment; filename=\"{}.json\"", id));
    bj::object mine = bj::parse(here.body).as_object(), theirs = bj::parse(at_owner.body).as_object();
    CHECK(mine.at("exported_at").as_double() >= theirs.at("exported_at").as_double() - 60);
    mine.erase("exported_at");
    theirs.erase("exported_at");
    CHECK(bj::serialize(mine) == bj::serialize(theirs));
    CHECK(mine.at("metrics").at("rows").as_array().size() == 3000);
  }
  CHECK(ca.Get(fmt::format("/api/runs/{}/metrics_step", id)).status == 200);
  CHECK(b.reads->forwarded() == 8);
  CHECK(a.reads->forwarded() == 0);  // A owns the run: it answers everything itself

  SECTION("without forwarding this replica could not answer: the run's points are on A's disk only") {
    b.server->ctx().read_forwarding.reset();
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 404);
    CHECK(r.body == R"({"detail":"Run not found"})");
  }
  SECTION("a request forwarded once is not forwarded again") {
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id), {{"x-runicorn-forwarded-by", "replica-c"}});
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    CHECK(r.detail() == fmt::format("run {} was forwarded here by replica replica-c, but replica {} owns it "
                                    "now; retry", id, a.name));
    // ... while the owner answers a forwarded read itself.
    auto at_owner = ca.Get(fmt::format("/api/runs/{}/metrics_step", id), {{"x-runicorn-forwarded-by", "replica-b"}});
    CHECK(at_owner.status == 200);
    CHECK(b.reads->forwarded() == 8);
  }
  SECTION("reads over the in-flight limit are refused at once (the deadlock guard)") {
    ReadForwardingOptions none;
    none.max_in_flight = 0;
    b.server->ctx().read_forwarding = std::make_shared<ReadForwarding>(b.ownership, none);
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    CHECK(r.detail() == fmt::format("run {} is live on replica {}, and this replica is already forwarding as "
                                    "many requests as it may; retry", id, a.name));
  }
  SECTION("an ended run is answered here, from what this replica has, not forwarded") {
    REQUIRE(w.run->Finish().ok());
    w.Ship(a.url);
    a.server->Sync();  // the mirror writes the run's end to PostgreSQL
    auto reads = std::make_shared<ReadForwarding>(b.ownership, ReadForwardingOptions{});
    b.server->ctx().read_forwarding = reads;
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 404);
    CHECK(r.body == R"({"detail":"Run not found"})");
    CHECK(reads->forwarded() == 0);
  }
  SECTION("owner gone: this replica answers from what it has, at once") {
    a.server.reset();
    a.reads.reset();
    a.forwarding.reset();  // it holds the ownership session too
    a.ownership.reset();  // its PostgreSQL session ends: the run's lock is free
    // PostgreSQL ends the closed session's backend (and frees its lock) asynchronously.
    for (int i = 0; i < 200; ++i) {
      auto owner = b.ownership->Find(id, /*allow_cached=*/false);
      if (owner.ok() && !owner->has_value()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 404);
    CHECK(r.body == R"({"detail":"Run not found"})");
    CHECK(b.reads->forwarded() == 8);
  }
  SECTION("a HEAD comes back with the owner's length and entity headers, and no body") {
    for (const std::string& target :
         {fmt::format("/api/runs/{}/metrics_step", id), fmt::format("/api/export/{}/csv", id),
          fmt::format("/api/runs/{}/metrics_step?metrics=loss&downsample=x", id)}) {
      INFO(target);
      auto get_at_owner = ca.Get(target);
      auto at_owner = HttpClient(a.server->port()).Request(http::verb::head, target);
      const uint64_t before = b.reads->forwarded();
      // A fresh connection each: a HEAD answered with chunked encoding closes its connection, and
      // the client would resend on the closed one (counted twice).
      auto here = HttpClient(b.server->port()).Request(http::verb::head, target);
      CHECK(b.reads->forwarded() == before + 1);  // one forward, no retry
      CHECK(here.status == at_owner.status);
      CHECK(here.status == get_at_owner.status);
      CHECK(here.body.empty());
      for (const char* header : {"content-length", "transfer-encoding", "content-type", "content-disposition"})
        CHECK(here.header(header) == at_owner.header(header));
      if (!at_owner.header("content-length").empty())
        CHECK(here.header("content-length") == std::to_string(get_at_owner.body.size()));
    }
    CHECK(b.reads->forwarded() == 8 + 3);
  }
  SECTION("owner alive but not answering: 503 with Retry-After") {
    a.server.reset();  // its ownership session (and lock) lives on: the process hangs, say
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    const std::string prefix =
        fmt::format("run {} is live on replica {} at {}, which does not answer (", id, a.name, a.url);
    CHECK(r.detail().substr(0, prefix.size()) == prefix);
  }
}

TEST_CASE("a big export of a live run streams through the non-owner in bounded memory",
          "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  ReadForwardingOptions small;
  small.max_buffer_bytes = 16u << 10;
  Replica b = StartReplica(db, "replica-b", {}, small);
  w.Log(0, 200000);
  w.Ship(a.url);
  a.server->Sync();
  HttpClient ca(a.server->port()), cb(b.server->port());
  const std::string target = fmt::format("/api/export/{}/csv", w.id());
  auto at_owner = ca.Get(target);
  auto here = cb.Get(target);
  REQUIRE(at_owner.status == 200);
  CHECK(here.status == 200);
  CHECK(here.body.size() == at_owner.body.size());
  CHECK(here.body == at_owner.body);
  CHECK(here.body.size() > 200 * small.max_buffer_bytes);  // far more than the proxy ever held
  CHECK(b.reads->forwarded() == 1);
  CHECK(b.reads->peak_buffer_bytes() > 0);
  CHECK(b.reads->peak_buffer_bytes() <= small.max_buffer_bytes);
}

TEST_CASE("live streams opened at a non-owner relay the owner's points and log lines", "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  w.Log(0, 100);
  w.Text("line one");
  w.Text("line two");
  w.Ship(a.url);
  a.server->Sync();
  b.server->Sync();
  const std::string id = w.id();

  WsClient metrics_at_b(b.server->port(), fmt::format("/api/runs/{}/metrics/ws?metrics=loss", id));
  WsClient metrics_at_a(a.server->port(), fmt::format("/api/runs/{}/metrics/ws?metrics=loss", id));
  WsClient logs_at_b(b.server->port(), fmt::format("/api/runs/{}/logs/ws", id));
  CHECK(metrics_at_b.status == 101);
  CHECK(b.reads->streams_proxied() == 2);
  CHECK(a.reads->streams_proxied() == 0);

  auto two_lines = [](const std::vector<std::string>& got) { return got.size() >= 2; };
  CHECK(ReadUntil(logs_at_b, two_lines) == std::vector<std::string>{"line one", "line two"});

  // Appended at the owner after the streams opened.
  w.Log(100, 110);
  w.Text("line three");
  w.Ship(a.url);
  a.server->Sync();
  auto ten_points = [](const std::vector<std::string>& got) { return Points(got).size() >= 10; };
  auto at_b = Points(ReadUntil(metrics_at_b, ten_points));
  auto at_a = Points(ReadUntil(metrics_at_a, ten_points));
  std::vector<std::pair<int64_t, std::string>> expected;
  for (int s = 100; s < 110; ++s) expected.emplace_back(s, fmt::format("{}", 1.0 / (s + 1)));
  CHECK(at_b == expected);
  CHECK(at_a == expected);
  auto one_line = [](const std::vector<std::string>& got) { return got.size() >= 1; };
  CHECK(ReadUntil(logs_at_b, one_line) == std::vector<std::string>{"line three"});

  SECTION("the owner going away closes the relayed stream") {
    a.server.reset();
    // (B looks for a new owner for OwnerFollowingStream::kEndGrace first: A still holds the run.)
    CHECK_FALSE(metrics_at_b.Next(std::chrono::milliseconds(10000)).has_value());
    CHECK(metrics_at_b.last_error == boost::beast::websocket::error::closed);
  }
  SECTION("an unknown run's stream is refused as the owner refuses it") {
    int next = 0;
    const std::string unknown = RunPreferring(a.name, {a.name, "replica-b"}, next);
    REQUIRE(a.ownership->Claim(unknown)->here);
    HttpClient cb(b.server->port());
    // The owner's refusal of the upgrade comes back as the same HTTP error.
    auto refused_at_a = HttpClient(a.server->port()).Get(fmt::format("/api/runs/{}/metrics/ws", unknown),
        {{"connection", "upgrade"}, {"upgrade", "websocket"}, {"sec-websocket-version", "13"},
         {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    auto refused_at_b = cb.Get(fmt::format("/api/runs/{}/metrics/ws", unknown),
        {{"connection", "upgrade"}, {"upgrade", "websocket"}, {"sec-websocket-version", "13"},
         {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    CHECK(refused_at_b.status == refused_at_a.status);
    CHECK(refused_at_b.body == refused_at_a.body);
  }
}

TEST_CASE("a read with a bad token is refused by the replica it reached, never forwarded",
          "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}), "team-secret");
  Replica b = StartReplica(db, "replica-b", "team-secret");
  w.Log(0, 500);
  w.Ship(a.url, "team-secret");
  a.server->Sync();
  const std::string target = fmt::format("/api/runs/{}/metrics_step", w.id());
  HttpClient ca(a.server->port()), cb(b.server->port());
  auto at_owner = ca.Get(target, {{"authorization", "Bearer wrong"}});
  auto here = cb.Get(target, {{"authorization", "Bearer wrong"}});
  CHECK(at_owner.status == 401);
  CHECK(here.status == 401);
  CHECK(here.body == at_owner.body);
  CHECK(b.reads->forwarded() == 0);
  // The right token goes through B to A: the Authorization header is forwarded with the read.
  auto good_at_owner = ca.Get(target, {{"authorization", "Bearer team-secret"}});
  auto good_here = cb.Get(target, {{"authorization", "Bearer team-secret"}});
  CHECK(good_here.status == 200);
  CHECK(good_here.body == good_at_owner.body);
  CHECK(b.reads->forwarded() == 1);
}

TEST_CASE("looking up a run's owner for a read never takes the run", "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  auto a = PgRunOwnership::Open({db, "http://127.0.0.1:1", "replica-a"});
  auto b = PgRunOwnership::Open({db, "http://127.0.0.1:2", "replica-b"});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  int next = 0;
  const std::string run = RunPreferring("replica-a", {"replica-a", "replica-b"}, next);
  auto nobody = (*b)->Find(run, /*allow_cached=*/false);
  REQUIRE(nobody.ok());
  CHECK_FALSE(nobody->has_value());
  REQUIRE((*a)->Claim(run).ok());
  CHECK((*a)->Claim(run)->here);  // B's look-up took nothing: A could take the run
  auto found = (*b)->Find(run, /*allow_cached=*/false);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK_FALSE((*found)->here);
  CHECK((*found)->replica_id == "replica-a");
  CHECK((*found)->url == "http://127.0.0.1:1");
  auto mine = (*a)->Find(run, /*allow_cached=*/false);
  REQUIRE(mine.ok());
  REQUIRE(mine->has_value());
  CHECK((*mine)->here);
  CHECK((*b)->Find("../escape", true).status().code() == runtrack::StatusCode::kInvalidArgument);
}

namespace {

// Ends `replica`'s PostgreSQL ownership session as a PostgreSQL restart would (its locks go), and
// waits until `observer` sees nobody owning `run`.
void EndOwnershipSession(const std::string& db, Replica& replica, Replica& observer, const std::string& run) {
  auto conn = runicorn::service::pg::PgConnection::Connect(db);
  REQUIRE(conn.ok());
  auto ended = (*conn)->Exec(fmt::format("SELECT pg_terminate_backend({})", replica.ownership->backend_pid()));
  REQUIRE(ended.ok());
  bool free = false;
  for (int i = 0; i < 200 && !free; ++i) {
    auto owner = observer.ownership->Find(run, /*allow_cached=*/false);
    free = owner.ok() && !owner->has_value();
    if (!free) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  REQUIRE(free);
}

std::vector<std::pair<int64_t, std::string>> Expected(int from, int to) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (int s = from; s < to; ++s) out.emplace_back(s, fmt::format("{}", 1.0 / (s + 1)));
  return out;
}

}  // namespace

TEST_CASE("a metric stream opened at B while nobody owned the run follows A once A takes it: every later point once",
          "[pg][replicas][live_reads][follow]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  const std::string id = w.id();
  w.Log(0, 100);
  w.Ship(a.url);
  a.server->Sync();  // the run's `runs` row (running) is in PostgreSQL
  b.server->Sync();
  // A's session ends (PostgreSQL restarted, say): for a moment nobody owns the run.
  EndOwnershipSession(db, a, b, id);

  // The client has steps up to 49 (its chart) and asks for what follows: served by B, which has nothing.
  WsClient ws(b.server->port(), fmt::format("/api/runs/{}/metrics/ws?metrics=loss&after_step=49", id));
  REQUIRE(ws.status == 101);
  CHECK(b.reads->streams_proxied() == 0);

  // The writer goes on at A: A reconnects and takes the run again; B's stream switches to relaying
  // from A, from after step 49, and passes on every point exactly once.
  w.Log(100, 200);
  w.Ship(a.url);
  a.server->Sync();
  REQUIRE(a.ownership->Find(id, false)->value().here);
  auto first = Points(ReadUntil(ws, [](const std::vector<std::string>& got) { return Points(got).size() >= 150; }));
  CHECK(first == Expected(50, 200));
  CHECK(b.reads->streams_proxied() == 1);
  // Later points come once more, and nothing before them was repeated.
  w.Log(200, 230);
  w.Ship(a.url);
  a.server->Sync();
  auto later = Points(ReadUntil(ws, [](const std::vector<std::string>& got) { return Points(got).size() >= 30; }));
  CHECK(later == Expected(200, 230));
}

TEST_CASE("a relayed stream whose owner dies goes on from the replica that takes the run over, exactly",
          "[pg][replicas][live_reads][follow]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  const std::string id = w.id();
  w.Log(0, 100);
  w.Text("line one");
  w.Ship(a.url);
  a.server->Sync();
  b.server->Sync();

  WsClient metrics(b.server->port(), fmt::format("/api/runs/{}/metrics/ws?metrics=loss&after_step=99", id));
  WsClient logs(b.server->port(), fmt::format("/api/runs/{}/logs/ws", id));
  REQUIRE(metrics.status == 101);
  CHECK(b.reads->streams_proxied() == 2);
  CHECK(ReadUntil(logs, [](const auto& got) { return got.size() >= 1; }) == std::vector<std::string>{"line one"});
  w.Log(100, 120);
  w.Text("line two");
  w.Ship(a.url);
  a.server->Sync();
  CHECK(Points(ReadUntil(metrics, [](const auto& got) { return Points(got).size() >= 20; })) == Expected(100, 120));
  CHECK(ReadUntil(logs, [](const auto& got) { return got.size() >= 1; }) == std::vector<std::string>{"line two"});

  // A dies: its server and its PostgreSQL session end. B's relays end; B now serves the run
  // (nobody owns it) and takes it when the writer, reaching B, resends its journal.
  a.server->ctx().ingest_forwarding.reset();
  a.server->ctx().read_forwarding.reset();
  a.server.reset();
  a.reads.reset();
  a.forwarding.reset();  // it holds the ownership session too
  a.ownership.reset();
  w.Log(120, 150);
  w.Text("line three");
  w.Ship(b.url);
  b.server->Sync();
  REQUIRE(b.ownership->Find(id, false)->value().here);
  // Every later point and line once, in order: nothing the client had is sent again.
  CHECK(Points(ReadUntil(metrics, [](const auto& got) { return Points(got).size() >= 30; })) == Expected(120, 150));
  CHECK(ReadUntil(logs, [](const auto& got) { return got.size() >= 1; }) == std::vector<std::string>{"line three"});
  w.Log(150, 160);
  w.Ship(b.url);
  b.server->Sync();
  CHECK(Points(ReadUntil(metrics, [](const auto& got) { return Points(got).size() >= 10; })) == Expected(150, 160));
}

TEST_CASE("a stream relayed without after_step is closed with a reason when its owner changes",
          "[pg][replicas][live_reads][follow]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  const std::string id = w.id();
  w.Log(0, 100);
  w.Ship(a.url);
  a.server->Sync();
  b.server->Sync();
  // Only new points, from the owner's own start: the start point of its metrics is A's, unknown here.
  WsClient ws(b.server->port(), fmt::format("/api/runs/{}/metrics/ws", id));
  REQUIRE(ws.status == 101);
  const std::string a_name = a.name;
  a.server->ctx().ingest_forwarding.reset();
  a.server->ctx().read_forwarding.reset();
  a.server.reset();
  a.reads.reset();
  a.forwarding.reset();  // it holds the ownership session too
  a.ownership.reset();
  CHECK_FALSE(ws.Next(std::chrono::milliseconds(8000)).has_value());
  CHECK(ws.last_error == boost::beast::websocket::error::closed);
  CHECK(ws.close_reason() ==
        fmt::format("the run moved from replica {} to this replica; reconnect with ?after_step= to resume exactly",
                    a_name)
            .substr(0, 120));
}

#endif  // RUNICORN_HAVE_PG
