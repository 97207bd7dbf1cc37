// Ingest among replicas (server/ingest_forwarding.h, docs/SCALE-OUT.md "Replicas"), in process:
// two viewers (TestServer) with run ownership on one private PostgreSQL; a writer's real shipping
// (ShipRun) sent to either of them.
#ifdef RUNICORN_HAVE_PG
#include <sys/wait.h>

#include <cstdlib>

#include "pg/in_process_replica.h"
#include "pg/pg_test_support.h"
#include "pg/replica_preference.h"
#include "pg/shipping_writer.h"
#include "remote/frame_scan.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server/ingest_forwarding.h"
#include "server_fixture.h"
#include "service/pg/pg_run_ownership.h"
#include "test_support.h"
#include "util/files.h"

using namespace runicorn::testing;
using runicorn::server::IngestForwarding;
using runicorn::service::pg::PgRunOwnership;
namespace fs = std::filesystem;
namespace http = boost::beast::http;

namespace {

Replica StartReplica(const std::string& db, const std::string& name, const std::string& token = {}) {
  return StartInProcessReplica(db, name, token);
}

std::string FileOrMissing(const fs::path& p) {
  auto r = runtrack::util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

}  // namespace

TEST_CASE("ingest sent to a replica that does not own the run is appended by the owner only", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  // A is the replica the run's bucket belongs to (rendezvous hashing): it takes the run.
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  w.Log(0, 2000);
  REQUIRE(a.ownership->Claim(w.id())->here);  // A owns the run

  runtrack::ShipProgress p = w.Ship(b.url);  // ... but the writer reaches B
  const std::string whole = w.WholeRecords();
  CHECK(p.acknowledged == whole.size());
  CHECK(FileOrMissing(a.journal(w.id())) == whole);
  CHECK(FileOrMissing(b.journal(w.id())) == "<missing>");  // never appended where not owned
  // Every PUT, plus the writer's one question whether the run is sealed (GET /api/ingest/{run}/state,
  // routed like an ingest so that it reaches the owner): the owner needs no sealing here (no bucket).
  CHECK(b.forwarding->forwarded() == static_cast<uint64_t>(p.requests) + 1);
  CHECK(p.confirmed);
  CHECK(a.forwarding->forwarded() == 0);

  SECTION("a request forwarded once is not forwarded again") {
    HttpClient c(a.server->port());
    // A owns the run, so a forwarded request is handled there; B does not, so it refuses one.
    HttpClient cb(b.server->port());
    auto r = cb.Request(http::verb::put, fmt::format("/api/ingest/{}/0?offset=0", w.id()), "",
                        {{"x-runicorn-forwarded-by", "replica-c"}, {"content-type", "application/octet-stream"}});
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    CHECK(r.detail() == fmt::format("run {} was forwarded here by replica replica-c, but replica {} owns it "
                                    "now; retry", w.id(), a.name));
    auto probe = c.Request(http::verb::put, fmt::format("/api/ingest/{}/0?offset={}", w.id(), whole.size()), "",
                           {{"x-runicorn-forwarded-by", "replica-b"}, {"content-type", "application/octet-stream"}});
    CHECK(probe.status == 200);
    CHECK(probe.body == fmt::format("{{\"durable_offset\":{}}}", whole.size()));
  }
  SECTION("forwards over the in-flight limit are refused at once (the deadlock guard)") {
    runicorn::server::IngestForwardingOptions none;
    none.max_in_flight = 0;
    b.server->ctx().ingest_forwarding = std::make_shared<IngestForwarding>(b.ownership, none);
    HttpClient cb(b.server->port());
    auto r = cb.Request(http::verb::put, fmt::format("/api/ingest/{}/0?offset={}", w.id(), whole.size()), "",
                        {{"content-type", "application/octet-stream"}});
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    CHECK(r.detail() == fmt::format("run {} is owned by replica {}, and this replica is already forwarding as "
                                    "many requests as it may; retry", w.id(), a.name));
  }
  SECTION("an owner that does not answer: 503 with Retry-After, nothing appended here") {
    a.server.reset();  // its ownership session (and lock) lives on: the process hangs, say
    w.Log(2000, 2100);
    HttpClient cb(b.server->port());
    auto r = cb.Request(http::verb::put, fmt::format("/api/ingest/{}/0?offset={}", w.id(), whole.size()), "",
                        {{"content-type", "application/octet-stream"}});
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    const std::string expected_prefix =
        fmt::format("run {} is owned by replica {} at {}, which does not answer (", w.id(), a.name, a.url);
    CHECK(r.detail().substr(0, expected_prefix.size()) == expected_prefix);
    CHECK(FileOrMissing(b.journal(w.id())) == "<missing>");
  }
}

TEST_CASE("a forwarded ingest is authorised exactly as a local one", "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}), "team-secret");
  Replica b = StartReplica(db, "replica-b", "team-secret");
  w.Log(0, 500);
  REQUIRE(a.ownership->Claim(w.id())->here);
  const std::string target = fmt::format("/api/ingest/{}/0?offset=0", w.id());
  const std::map<std::string, std::string> bad{{"authorization", "Bearer wrong"},
                                               {"content-type", "application/octet-stream"}};
  HttpClient ca(a.server->port()), cb(b.server->port());
  auto at_owner = ca.Request(http::verb::put, target, "", bad);
  auto at_other = cb.Request(http::verb::put, target, "", bad);
  CHECK(at_owner.status == 401);
  CHECK(at_other.status == at_owner.status);
  CHECK(at_other.body == at_owner.body);
  CHECK(b.forwarding->forwarded() == 0);  // refused before any forwarding
  // The right token goes through B to A: the Authorization header is forwarded with the request.
  runtrack::ShipProgress p = w.Ship(b.url, "team-secret");
  CHECK(p.acknowledged == w.WholeRecords().size());
  CHECK(FileOrMissing(a.journal(w.id())) == w.WholeRecords());
  CHECK(FileOrMissing(b.journal(w.id())) == "<missing>");
}

TEST_CASE("when the owner dies the next replica takes the run and the writer resends from its journal",
          "[pg][replicas]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, IdPreferredFor(w.id(), "replica-a", {"replica-b"}));
  Replica b = StartReplica(db, "replica-b");
  w.Log(0, 3000);
  runtrack::ShipProgress first = w.Ship(a.url);  // A takes the run and acknowledges this much
  const uint64_t acked_by_a = first.acknowledged;
  REQUIRE(acked_by_a == w.WholeRecords().size());
  REQUIRE(FileOrMissing(a.journal(w.id())) == w.WholeRecords());

  // A dies: its server and its PostgreSQL session end (the lock is freed with the session).
  a.server->ctx().ingest_forwarding.reset();
  a.forwarding.reset();
  a.server.reset();
  a.ownership.reset();

  w.Log(3000, 4000);
  REQUIRE(w.run->Finish().ok());
  const std::string whole = w.WholeRecords();
  runtrack::ShipProgress second = w.Ship(b.url);
  // B's copy was empty: it answered 409 {expected_offset: 0} to the writer's offset, and the
  // writer resent everything from its journal, including what A had acknowledged.
  CHECK(second.acknowledged == whole.size());
  CHECK(second.bytes_sent >= whole.size());
  CHECK(FileOrMissing(b.journal(w.id())) == whole);
  CHECK(b.forwarding->forwarded() == 0);
  auto owner = b.ownership->Claim(w.id());
  REQUIRE(owner.ok());
  CHECK(owner->here);
}

TEST_CASE("a new run reaching a replica its bucket does not belong to is forwarded to the one it belongs to",
          "[pg][replicas][rebalance]") {
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  ShippingWriter w;
  Replica a = StartReplica(db, "replica-a");
  Replica b = StartReplica(db, IdPreferredFor(w.id(), "replica-b", {"replica-a"}));
  w.Log(0, 1500);
  REQUIRE(w.run->Finish().ok());
  // Nobody holds the run's bucket: A does not take it (B is preferred) but forwards; B takes it
  // when the first forwarded request arrives.
  runtrack::ShipProgress p = w.Ship(a.url);
  const std::string whole = w.WholeRecords();
  CHECK(p.acknowledged == whole.size());
  CHECK(FileOrMissing(b.journal(w.id())) == whole);
  CHECK(FileOrMissing(a.journal(w.id())) == "<missing>");
  CHECK(a.forwarding->forwarded() == static_cast<uint64_t>(p.requests) + 1);
  CHECK(b.forwarding->forwarded() == 0);
  CHECK(b.ownership->HeldBuckets() == std::vector<uint64_t>{runicorn::service::pg::RunBucket(w.id())});
  CHECK(a.ownership->HeldBuckets().empty());

  SECTION("the preferred replica does not answer: 503 naming it, nothing appended anywhere") {
    ShippingWriter other;
    REQUIRE(runicorn::service::pg::RunBucket(other.id()) != runicorn::service::pg::RunBucket(w.id()));
    Replica c = StartReplica(db, IdPreferredFor(other.id(), "replica-c", {"replica-a", b.name}));
    const std::string c_url = c.url;
    c.server.reset();  // its PostgreSQL session lives on: alive but not answering
    other.Log(0, 10);
    HttpClient ca(a.server->port());
    auto r = ca.Request(http::verb::put, fmt::format("/api/ingest/{}/0?offset=0", other.id()), "",
                        {{"content-type", "application/octet-stream"}});
    CHECK(r.status == 503);
    CHECK(r.header("retry-after") == "1");
    const std::string prefix =
        fmt::format("run {} belongs to replica {} at {}, which does not answer (", other.id(), c.name, c_url);
    CHECK(r.detail().substr(0, prefix.size()) == prefix);
    CHECK(FileOrMissing(a.journal(other.id())) == "<missing>");
    CHECK(a.ownership->HeldBuckets().empty());
  }
}

TEST_CASE("replica urls: only http://HOST:PORT, checked before the viewer starts", "[pg][replicas]") {
  using runicorn::server::ParseReplicaUrl;
  auto v4 = ParseReplicaUrl("http://10.0.0.2:23300/");
  REQUIRE(v4.ok());
  CHECK(v4->host == "10.0.0.2");
  CHECK(v4->port == "23300");
  auto v6 = ParseReplicaUrl("http://[::1]:8080");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(ParseReplicaUrl("http://viewer-2.internal:1")->host == "viewer-2.internal");
  CHECK(ParseReplicaUrl("https://a:1").status().message() ==
        "--replica-url 'https://a:1': only http:// is supported (expected http://HOST:PORT, the address other "
        "replicas reach this one at)");
  for (const char* bad : {"http://a", "http://a:0", "http://a:65536", "http://a:1/x", "http://u@a:1", "http://:1",
                          "http://[::1]", "http://a:b"})
    CHECK(ParseReplicaUrl(bad).status().code() == runtrack::StatusCode::kInvalidArgument);

  runtrack::testing::TempDir dir;
  auto run = [&](const std::string& args) {
    const auto err = dir.path() / "viewer.err";
    std::string cmd = fmt::format("timeout 20 {} viewer --storage {} --port 0 {} >/dev/null 2>{}", RUNICORN_BINARY,
                                  (dir.path() / "store").string(), args, err.string());
    int rc = std::system(cmd.c_str());
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, FileOrMissing(err));
  };
  CHECK(run("--replica-url http://127.0.0.1:1") ==
        std::make_pair(2, std::string("runicorn viewer: --replica-url needs --catalog postgresql://... (replicas "
                                      "share its run ownership)\n")));
  CHECK(run("--replica-url ftp://x:1") ==
        std::make_pair(2, std::string("runicorn viewer: --replica-url 'ftp://x:1': only http:// is supported "
                                      "(expected http://HOST:PORT, the address other replicas reach this one at)\n")));
}

#endif  // RUNICORN_HAVE_PG
