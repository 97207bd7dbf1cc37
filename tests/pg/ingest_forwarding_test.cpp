// Ingest among replicas (server/ingest_forwarding.h, docs/SCALE-OUT.md "Replicas"), in process:
// two viewers (TestServer) with run ownership on one private PostgreSQL; a writer's real shipping
// (ShipRun) sent to either of them.
#ifdef RUNICORN_HAVE_PG
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "pg/in_process_replica.h"
#include "pg/pg_test_support.h"
#include "pg/replica_preference.h"
#include "pg/shipping_writer.h"
#include "pg/silent_listener.h"
#include "pg/store_state.h"
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

// `r`, before any request reached it, with its ownership reopened (same id and URL) with
// `claim_quiet` and its ingest forwarding with `forwarding`.
void Reconfigure(Replica& r, const std::string& db, std::chrono::milliseconds claim_quiet,
                 runicorn::server::IngestForwardingOptions forwarding) {
  r.server->ctx().ingest_forwarding.reset();
  r.forwarding.reset();
  r.ownership.reset();  // its row and session go first: one row per replica id
  auto ownership = PgRunOwnership::Open({db, r.url, r.name, claim_quiet});
  INFO(ownership.status().ToString());
  REQUIRE(ownership.ok());
  r.ownership = std::move(*ownership);
  r.forwarding = std::make_shared<IngestForwarding>(r.ownership, forwarding);
  r.server->ctx().ingest_forwarding = r.forwarding;
}

// A writer whose run's bucket belongs to `replica` among `ids` and is none of `taken`.
std::unique_ptr<ShippingWriter> WriterPreferring(const std::string& replica, const std::vector<std::string>& ids,
                                                 const std::set<uint64_t>& taken) {
  for (;;) {
    auto w = std::make_unique<ShippingWriter>();
    const uint64_t bucket = runicorn::service::pg::RunBucket(w->id());
    if (!taken.count(bucket) && runicorn::service::pg::PreferredReplica(bucket, ids) == replica) return w;
  }
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
    // A's bucket is HELD: B never takes it over while A's session lives, answering or not.
    CHECK(b.forwarding->unanswered() == 1);
    CHECK(b.ownership->HeldBuckets().empty());
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

TEST_CASE("a free bucket whose preferred replica is live but does not answer is taken by the replica reached",
          "[pg][replicas][rebalance]") {
  // B's HTTP: refused (nothing listens at its URL), or accepted and never answered (hung).
  const bool hung = GENERATE(false, true);
  CAPTURE(hung);
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string db = pg.NewDatabase();
  REQUIRE_FALSE(db.empty());
  using runicorn::service::pg::RunBucket;
  ShippingWriter w;
  Replica a = StartReplica(db, "replica-a");
  runicorn::server::IngestForwardingOptions options;
  options.request_timeout = std::chrono::milliseconds(1000);  // what a hung B costs, once
  Reconfigure(a, db, std::chrono::milliseconds(0), options);
  // B is live (its PostgreSQL session holds the liveness lock) and preferred for w's run.
  const std::string b_id = IdPreferredFor(w.id(), "replica-b", {"replica-a"});
  const std::vector<std::string> ids{"replica-a", b_id};
  SilentListener silent;
  const std::string b_url = hung ? silent.url() : RefusingUrl();
  auto b_session = PgRunOwnership::Open({db, b_url, b_id});
  REQUIRE(b_session.ok());
  REQUIRE(a.ownership->Claim(w.id())->unclaimed);  // A would forward it to B

  w.Log(0, 1500);
  REQUIRE(w.run->Finish().ok());
  runtrack::ShipProgress p = w.Ship(a.url);
  const std::string whole = w.WholeRecords();
  CHECK(p.acknowledged == whole.size());
  CHECK(p.confirmed);
  CHECK(FileOrMissing(a.journal(w.id())) == whole);  // every point once, appended by A
  CHECK(a.ownership->HeldBuckets() == std::vector<uint64_t>{RunBucket(w.id())});
  CHECK(a.forwarding->unanswered() == 1);  // only the first request tried B
  CHECK(a.forwarding->forwarded() == 0);
  CHECK(silent.accepted() == (hung ? 1 : 0));
  auto at_b = (*b_session)->Claim(w.id());  // B, live, cannot take it too
  REQUIRE(at_b.ok());
  CHECK_FALSE(at_b->here);
  CHECK(at_b->replica_id == "replica-a");

  // Another run of a bucket B is preferred for: A takes it without trying B again.
  auto w2 = WriterPreferring(b_id, ids, {RunBucket(w.id())});
  w2->Log(0, 300);
  REQUIRE(w2->run->Finish().ok());
  runtrack::ShipProgress p2 = w2->Ship(a.url);
  CHECK(p2.acknowledged == w2->WholeRecords().size());
  CHECK(FileOrMissing(a.journal(w2->id())) == w2->WholeRecords());
  CHECK(a.forwarding->unanswered() == 1);
  CHECK(silent.accepted() == (hung ? 1 : 0));
  std::vector<uint64_t> both{RunBucket(w.id()), RunBucket(w2->id())};
  std::sort(both.begin(), both.end());
  CHECK(a.ownership->HeldBuckets() == both);

  // Both runs settled: still not handed to B while B is remembered unreachable.
  StoreState disk;
  disk.runs = {w.id(), w2->id()};
  disk.settled = disk.runs;
  auto kept = a.ownership->ReleaseUnpreferred(disk);
  REQUIRE(kept.ok());
  CHECK(kept->unpreferred == 2);
  CHECK(kept->unreachable == 2);
  CHECK(kept->released == 0);

  // B comes back answering HTTP (same id, its real address).
  b_session->reset();
  Replica b = StartReplica(db, b_id);
  auto before_answer = a.ownership->ReleaseUnpreferred(disk);  // A has not heard from B yet
  REQUIRE(before_answer.ok());
  CHECK(before_answer->unreachable == 2);
  CHECK(before_answer->released == 0);
  // A run B took directly; its next request through A is forwarded to B and answered.
  auto w3 = WriterPreferring(b_id, ids, {RunBucket(w.id()), RunBucket(w2->id())});
  w3->Log(0, 100);
  w3->Ship(b.url);
  w3->Log(100, 200);
  runtrack::ShipProgress p3 = w3->Ship(a.url);
  CHECK(p3.acknowledged == w3->WholeRecords().size());
  CHECK(FileOrMissing(b.journal(w3->id())) == w3->WholeRecords());
  CHECK(a.forwarding->forwarded() == static_cast<uint64_t>(p3.requests) + 1);  // + its seal question
  // B answered, so A gives its buckets back: the runs there are settled.
  auto released = a.ownership->ReleaseUnpreferred(disk);
  REQUIRE(released.ok());
  CHECK(released->unreachable == 0);
  CHECK(released->released == 2);
  CHECK(a.ownership->HeldBuckets().empty());
  // And B's new runs are B's again: a new one sent to A is forwarded, B takes the bucket.
  auto w4 = WriterPreferring(b_id, ids, {RunBucket(w.id()), RunBucket(w2->id()), RunBucket(w3->id())});
  w4->Log(0, 100);
  runtrack::ShipProgress p4 = w4->Ship(a.url);
  CHECK(p4.acknowledged == w4->WholeRecords().size());
  CHECK(FileOrMissing(b.journal(w4->id())) == w4->WholeRecords());
  CHECK(FileOrMissing(a.journal(w4->id())) == "<missing>");
  CHECK(a.forwarding->unanswered() == 1);
}

#endif  // RUNICORN_HAVE_PG
