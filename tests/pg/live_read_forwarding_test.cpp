// Reads of a live run among replicas (server/read_forwarding.h, docs/SCALE-OUT.md "Reads of a live
// run"), in process: two viewers (TestServer) on one private PostgreSQL — the run index from it
// (viewer --catalog) and run ownership by its advisory locks. A writer ships a live run to A (its
// owner); every read of the run's data at B is answered by A.
#ifdef RUNICORN_HAVE_PG
#include <thread>

#include <boost/json.hpp>

#include "pg/pg_test_support.h"
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

struct Replica {
  std::unique_ptr<TestServer> server;
  std::shared_ptr<PgRunOwnership> ownership;
  std::shared_ptr<ReadForwarding> reads;
  std::string url;
};

Replica StartReplica(const std::string& db, const std::string& name, const std::string& token = {},
                     ReadForwardingOptions options = {}) {
  ServerConfig config;
  config.token = token;
  config.body_limit = 8u << 20;
  config.pg_catalog = db;
  Replica r;
  r.server = std::make_unique<TestServer>(config);
  r.url = fmt::format("http://127.0.0.1:{}", r.server->port());
  auto ownership = PgRunOwnership::Open({db, r.url, name});
  INFO(ownership.status().ToString());
  REQUIRE(ownership.ok());
  r.ownership = std::move(*ownership);
  r.reads = std::make_shared<ReadForwarding>(r.ownership, options);
  // Before any request reaches it.
  r.server->ctx().ingest_forwarding =
      std::make_shared<IngestForwarding>(r.ownership, runicorn::server::IngestForwardingOptions{});
  r.server->ctx().read_forwarding = r.reads;
  return r;
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
  Replica a = StartReplica(db, "replica-a");
  Replica b = StartReplica(db, "replica-b");
  ShippingWriter w;
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
    CHECK(r.detail() == fmt::format("run {} was forwarded here by replica replica-c, but replica replica-a owns it "
                                    "now; retry", id));
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
    CHECK(r.detail() == fmt::format("run {} is live on replica replica-a, and this replica is already forwarding as "
                                    "many requests as it may; retry", id));
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
  SECTION("owner alive but not answering: 503 with Retry-After") {
    a.server.reset();  // its ownership session (and lock) lives on: the process hangs, say
    auto r = cb.Get(fmt::format("/api/runs/{}/metrics_step", id));
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    const std::string prefix =
        fmt::format("run {} is live on replica replica-a at {}, which does not answer (", id, a.url);
    CHECK(r.detail().substr(0, prefix.size()) == prefix);
  }
}

TEST_CASE("a big export of a live run streams through the non-owner in bounded memory",
          "[pg][replicas][live_reads]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  Replica a = StartReplica(db, "replica-a");
  ReadForwardingOptions small;
  small.max_buffer_bytes = 16u << 10;
  Replica b = StartReplica(db, "replica-b", {}, small);
  ShippingWriter w;
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
  Replica a = StartReplica(db, "replica-a");
  Replica b = StartReplica(db, "replica-b");
  ShippingWriter w;
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
    CHECK_FALSE(metrics_at_b.Next(std::chrono::milliseconds(5000)).has_value());
    CHECK(metrics_at_b.last_error == boost::beast::websocket::error::closed);
  }
  SECTION("an unknown run's stream is refused as the owner refuses it") {
    REQUIRE(a.ownership->Claim("20261204_000000_abcdef").ok());
    HttpClient cb(b.server->port());
    // The owner's refusal of the upgrade comes back as the same HTTP error.
    auto refused_at_a = HttpClient(a.server->port()).Get("/api/runs/20261204_000000_abcdef/metrics/ws",
        {{"connection", "upgrade"}, {"upgrade", "websocket"}, {"sec-websocket-version", "13"},
         {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    auto refused_at_b = cb.Get("/api/runs/20261204_000000_abcdef/metrics/ws",
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
  Replica a = StartReplica(db, "replica-a", "team-secret");
  Replica b = StartReplica(db, "replica-b", "team-secret");
  ShippingWriter w;
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
  const std::string run = "20261204_000000_abcdef";
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

#endif  // RUNICORN_HAVE_PG
