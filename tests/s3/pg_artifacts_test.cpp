// Artifacts on the team back end (docs/SCALE-OUT.md "Artifact ingest on PostgreSQL"): two real
// `runicorn viewer --catalog postgresql://… --objects s3://…` replicas (different store folders)
// on one private PostgreSQL 15 and one Ceph RGW bucket. Writers ship with ShipRunArtifacts (what
// a writer's shipper thread and `runicorn sync` run), whose counts say what went over the wire.
#include <catch2/catch.hpp>

#ifdef RUNICORN_HAVE_PG

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "team_fixture.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/store.h"
#include "service/s3/chunk_references.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace {
namespace fs = std::filesystem;
namespace bj = boost::json;
using runicorn::testing::RunicornProcess;

using Reply = runicorn::testing::HttpReply;
using runicorn::testing::Http;
using runicorn::testing::RandomBytes;
Reply Get(const std::string& url) { return runicorn::testing::HttpGet(url); }

// A writer's own store with one run that logs model versions (never shipping by itself).
struct Writer {
  std::unique_ptr<runtrack::Store> store;
  std::unique_ptr<runtrack::Run> run;
  fs::path dir;

  explicit Writer(const fs::path& d) : dir(d) {
    auto s = runtrack::Store::Open(d / "store");
    REQUIRE(s.ok());
    store = std::move(*s);
    auto r = store->CreateRun({});
    REQUIRE(r.ok());
    run = std::move(*r);
  }
  int Log(const std::string& name, const std::string& bytes) {
    const fs::path src = dir / "weights.bin";
    std::ofstream(src, std::ios::binary | std::ios::trunc) << bytes;
    auto artifact = runtrack::Artifact::Create(name, runtrack::ArtifactType::kModel);
    REQUIRE(artifact.ok());
    REQUIRE(artifact->AddFile(src, "weights.bin").ok());
    auto v = run->LogArtifact(*artifact);
    REQUIRE(v.ok());
    return *v;
  }
  runtrack::Result<runtrack::ArtifactShipProgress> Ship(int port) {
    runtrack::ShipperOptions options;
    options.server = fmt::format("http://127.0.0.1:{}", port);
    return runtrack::ShipRunArtifacts(store->layout(), run->id(), options, 3);
  }
  std::string Manifest(const std::string& name, int version) {
    std::ifstream in(store->layout().artifacts_dir() / "model" / name / fmt::format("v{}", version) / "manifest.json",
                     std::ios::binary);
    REQUIRE(in);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  // digest -> size of a version's distinct chunks.
  std::map<std::string, uint64_t> Chunks(const std::string& name, int version) {
    std::map<std::string, uint64_t> out;
    auto doc = bj::parse(Manifest(name, version));
    for (const auto& file : doc.at("files").as_array())
      for (const auto& c : file.at("chunks").as_array())
        out[std::string(c.at("sha256").as_string())] = c.at("size").to_number<uint64_t>();
    return out;
  }
};

using Team = runicorn::testing::TeamBackEnd;

std::string Base(int port) { return fmt::format("http://127.0.0.1:{}/api", port); }

}  // namespace

TEST_CASE("artifact chunks shipped through two replicas dedup, and either replica serves every version",
          "[s3][rgw][pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-dedup");
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);

  // Writer 1 ships `net` v1 to replica A: every chunk goes up once.
  const std::string base = RandomBytes(4 * 1024 * 1024, 21);
  Writer w1(team.tmp.path / "w1");
  REQUIRE(w1.Log("net", base) == 1);
  auto first = w1.Ship(port_a);
  REQUIRE(first.ok());
  const auto net_chunks = w1.Chunks("net", 1);
  REQUIRE(net_chunks.size() >= 4);
  CHECK(first->versions_shipped == 1);
  CHECK(first->chunks_sent == net_chunks.size());
  CHECK(first->bytes_sent == base.size());
  CHECK(team.ChunkKeys() == team.KeysOf(net_chunks));

  // Writer 2 ships a fine-tuned copy (the last 64 KiB changed) to replica B: only the chunks the
  // bucket lacks go up, although B's own disk holds none of them.
  std::string tuned = base;
  const std::string tail = RandomBytes(64 * 1024, 22);
  std::copy(tail.begin(), tail.end(), tuned.end() - static_cast<std::ptrdiff_t>(tail.size()));
  Writer w2(team.tmp.path / "w2");
  REQUIRE(w2.Log("net-tuned", tuned) == 1);
  auto second = w2.Ship(port_b);
  REQUIRE(second.ok());
  const auto tuned_chunks = w2.Chunks("net-tuned", 1);
  uint64_t new_chunks = 0, new_bytes = 0;
  for (const auto& [hex, size] : tuned_chunks)
    if (!net_chunks.count(hex)) {
      ++new_chunks;
      new_bytes += size;
    }
  REQUIRE(new_chunks >= 1);
  REQUIRE(new_chunks < tuned_chunks.size() / 2);  // "sharing most chunks"
  CHECK(second->versions_shipped == 1);
  CHECK(second->chunks_sent == new_chunks);
  CHECK(second->bytes_sent == new_bytes);
  auto expected_keys = team.KeysOf(net_chunks);
  for (const auto& k : team.KeysOf(tuned_chunks)) expected_keys.insert(k);
  CHECK(team.ChunkKeys() == expected_keys);

  // Both versions listed, identically, by either replica; each downloads byte-identical from
  // the replica it was not shipped to (its chunks come from the bucket, verified).
  const Reply list_a = Get(Base(port_a) + "/artifacts");
  const Reply list_b = Get(Base(port_b) + "/artifacts");
  CHECK(list_a.status == 200);
  CHECK(list_a.body == list_b.body);
  CHECK(list_a.body.find("\"net\"") != std::string::npos);
  CHECK(list_a.body.find("\"net-tuned\"") != std::string::npos);
  CHECK(Get(Base(port_a) + "/artifacts/net/versions").body == Get(Base(port_b) + "/artifacts/net/versions").body);
  for (int port : {port_a, port_b}) {
    const Reply net = Get(Base(port) + "/artifacts/net/v1/download?path=weights.bin");
    CHECK(net.status == 200);
    CHECK(net.body == base);
    const Reply t = Get(Base(port) + "/artifacts/net-tuned/v1/download?path=weights.bin");
    CHECK(t.status == 200);
    CHECK(t.body == tuned);
  }

  // A resend of the manifest, through the other replica, changes nothing; another manifest under
  // that number is refused.
  const std::string manifest = w1.Manifest("net", 1);
  const Reply resend = Http("PUT", Base(port_b) + "/ingest/artifacts/net/v1", &manifest);
  CHECK(resend.status == 200);
  CHECK(resend.body == R"({"name":"net","type":"model","version":1,"created":false})");
  const std::string other = w2.Manifest("net-tuned", 1);
  const Reply wrong = Http("PUT", Base(port_b) + "/ingest/artifacts/net/v1", &other);
  CHECK(wrong.status == 400);
  CHECK(wrong.detail() == "manifest describes net-tuned:v1, but was sent as net:v1");
  a->Stop();
  b->Stop();
}

TEST_CASE("racing ships of one artifact name through two replicas never give one version number twice",
          "[s3][rgw][pg][artifacts][concurrency]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-race");
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);
  // Six writers, each with its own `race` v1 and v2 (different bytes): half ship to A, half to B,
  // all at once.
  constexpr int kWriters = 6;
  std::vector<std::unique_ptr<Writer>> writers;
  std::vector<std::string> contents;
  for (int i = 0; i < kWriters; ++i) {
    writers.push_back(std::make_unique<Writer>(team.tmp.path / fmt::format("w{}", i)));
    for (int v = 1; v <= 2; ++v) {
      contents.push_back(RandomBytes(3000 + i, static_cast<uint32_t>(100 * i + v)));
      REQUIRE(writers[i]->Log("race", contents.back()) == v);
    }
  }
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      auto shipped = writers[i]->Ship(i % 2 ? port_b : port_a);
      errors[i] = shipped.ok() ? "" : shipped.status().message();
    });
  for (auto& t : threads) t.join();

  // Each number holds exactly one writer's manifest, the same through both replicas; every other
  // writer was told its number is taken.
  std::map<int, int> owner;  // version -> writer
  for (int v = 1; v <= 2; ++v) {
    const Reply files = Get(Base(port_a) + fmt::format("/artifacts/race/v{}/download?path=weights.bin", v));
    REQUIRE(files.status == 200);
    CHECK(Get(Base(port_b) + fmt::format("/artifacts/race/v{}/download?path=weights.bin", v)).body == files.body);
    int matches = 0;
    for (int i = 0; i < kWriters; ++i)
      if (contents[2 * i + v - 1] == files.body) {
        owner[v] = i;
        ++matches;
      }
    CHECK(matches == 1);
  }
  int refused = 0;
  for (int i = 0; i < kWriters; ++i) {
    if (errors[i].empty()) continue;
    ++refused;
    INFO(errors[i]);
    CHECK(errors[i].find("HTTP 409: race:v") != std::string::npos);
    CHECK(errors[i].find(" already exists on the server with a different manifest") != std::string::npos);
  }
  // Only a writer whose every version was free shipped without a refusal: at most one.
  CHECK(refused >= kWriters - 1);
  const Reply versions = Get(Base(port_b) + "/artifacts/race/versions");
  CHECK(versions.status == 200);
  auto doc = bj::parse(versions.body);
  const bj::array* list = doc.is_array() ? &doc.as_array() : doc.as_object().at("versions").if_array();
  REQUIRE(list != nullptr);
  CHECK(list->size() == 2);
  a->Stop();
  b->Stop();
}

TEST_CASE("a shipped alias set through one replica is seen through the other, and a resend changes nothing",
          "[s3][rgw][pg][artifacts][aliases]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-alias");
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);
  Writer w(team.tmp.path / "w");
  REQUIRE(w.Log("net", RandomBytes(5000, 31)) == 1);
  REQUIRE(w.Log("net", RandomBytes(5000, 32)) == 2);
  REQUIRE(w.Ship(port_a).ok());

  const std::string to_v1 = R"({"version":1})";
  const Reply set = Http("PUT", Base(port_a) + "/ingest/artifacts/net/aliases/production", &to_v1);
  CHECK(set.status == 200);
  CHECK(set.body == R"({"name":"net","alias":"production","version":1,"changed":true})");
  CHECK(Get(Base(port_b) + "/artifacts/net/aliases").body ==
        R"({"name":"net","aliases":{"latest":2,"production":1}})");
  const Reply again = Http("PUT", Base(port_b) + "/ingest/artifacts/net/aliases/production", &to_v1);
  CHECK(again.body == R"({"name":"net","alias":"production","version":1,"changed":false})");
  // Removal only while it still points at the writer's last value.
  CHECK(Http("DELETE", Base(port_b) + "/ingest/artifacts/net/aliases/production?version=2").body ==
        R"({"name":"net","alias":"production","removed":false})");
  CHECK(Http("DELETE", Base(port_b) + "/ingest/artifacts/net/aliases/production?version=1").body ==
        R"({"name":"net","alias":"production","removed":true})");
  CHECK(Get(Base(port_a) + "/artifacts/net/aliases").body == R"({"name":"net","aliases":{"latest":2}})");
  // What cannot be applied is refused as on one viewer.
  const std::string to_v9 = R"({"version":9})";
  const Reply missing = Http("PUT", Base(port_a) + "/ingest/artifacts/net/aliases/production", &to_v9);
  CHECK(missing.status == 404);
  CHECK(missing.detail() == "net:v9 is not on the server");
  a->Stop();
  b->Stop();
}

TEST_CASE("a chunk damaged in the bucket is an error, never wrong bytes", "[s3][rgw][pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-bad");
  int port_a = 0, port_b = 0;
  auto a = team.Replica("a", &port_a);
  auto b = team.Replica("b", &port_b);
  Writer w(team.tmp.path / "w");
  const std::string tiny = RandomBytes(1000, 41);  // one chunk
  REQUIRE(w.Log("tiny", tiny) == 1);
  REQUIRE(w.Ship(port_a).ok());
  const auto digests = w.Chunks("tiny", 1);
  REQUIRE(digests.size() == 1);
  const std::string hex = digests.begin()->first;
  CHECK(Get(Base(port_b) + "/artifacts/tiny/v1/download?path=weights.bin").body == tiny);
  REQUIRE(team.client->PutObject(team.chunks->KeyOf(hex), RandomBytes(1000, 99)).ok());
  // B never held the chunk: it reads the bucket, finds bytes that are not the chunk, and says so.
  const Reply bad = Get(Base(port_b) + "/artifacts/tiny/v1/download?path=weights.bin");
  CHECK(bad.status == 500);
  CHECK(bad.body != tiny);
  CHECK(bad.detail().find(hex) != std::string::npos);
  a->Stop();
  b->Stop();
}

TEST_CASE("gc --objects keeps the chunks PostgreSQL's versions reference and deletes an unreferenced one",
          "[s3][rgw][pg][artifacts][gc]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-gc");
  int port_a = 0;
  auto a = team.Replica("a", &port_a);
  Writer w(team.tmp.path / "w");
  const std::string weights = RandomBytes(2 * 1024 * 1024, 51);
  REQUIRE(w.Log("net", weights) == 1);
  REQUIRE(w.Ship(port_a).ok());
  const auto referenced = w.Chunks("net", 1);
  const std::string stray = RandomBytes(5000, 52);
  const std::string stray_hex = runicorn::service::s3::Sha256Hex(stray);
  REQUIRE(team.chunks->PutIfAbsent(stray_hex, stray).ok());

  // The replica publishes the catalog's list within a pass (2 s): wait for it (bounded).
  std::unordered_set<std::string> listed;
  for (int i = 0; i < 100 && listed.size() < referenced.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto lists = team.client->ListAll("team/refs/catalog-");
    REQUIRE(lists.ok());
    if (lists->size() != 1) continue;
    auto text = team.client->GetObject(lists->front().key);
    REQUIRE(text.ok());
    listed.clear();
    REQUIRE(runicorn::service::s3::ParseChunkReferences(*text, &listed).ok());
  }
  std::unordered_set<std::string> expected_list;
  for (const auto& [hex, size] : referenced) expected_list.insert(hex);
  CHECK(listed == expected_list);
  a->Stop();

  // The collector runs on another machine's store: it knows none of these versions itself.
  fs::create_directories(team.tmp.path / "gc");
  REQUIRE(runtrack::ArtifactStore::Open(team.tmp.path / "gc" / "store").ok());
  RunicornProcess gc("gc",
                     {"--storage", (team.tmp.path / "gc" / "store").string(), "--objects", team.url,
                      "--grace-seconds", "0", "--json", "--no-progress"},
                     team.env, team.tmp.path / "gc");
  REQUIRE(gc.Wait() == 0);
  INFO(gc.out() << gc.err());
  auto doc = bj::parse(gc.out()).as_object();
  CHECK(doc.at("objects").at("objects_removed") == 1);
  CHECK(doc.at("objects").at("bytes_freed") == 5000);
  CHECK(doc.at("objects").at("objects_kept") == static_cast<int64_t>(referenced.size()));
  CHECK(team.ChunkKeys() == team.KeysOf(referenced));
}

TEST_CASE("PostgreSQL down: artifact reads, shipped versions and aliases answer 503",
          "[s3][rgw][pg][artifacts]") {
  runicorn::testing::PgTestServer pg;  // its own server: this case stops it
  RUNICORN_PG_REQUIRE_AVAILABLE(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Team team(pg.NewDatabase(), rgw.endpoint(), "rt-pgart-down");
  int port = 0;
  auto viewer = team.Replica("a", &port);
  Writer w(team.tmp.path / "w");
  REQUIRE(w.Log("net", RandomBytes(5000, 61)) == 1);
  REQUIRE(w.Log("net", RandomBytes(5000, 62)) == 2);
  // v1 goes while PostgreSQL is up; v2 after it stopped.
  const std::string v1 = w.Manifest("net", 1);
  REQUIRE(Http("PUT", Base(port) + "/ingest/artifacts/net/v1", &v1).status == 409);  // its chunk first
  REQUIRE(w.Ship(port).ok());
  REQUIRE(Get(Base(port) + "/artifacts").status == 200);

  // PostgreSQL's fast shutdown (SIGINT) of the postmaster, waited for.
  pid_t postmaster = 0;
  std::ifstream(pg.dir() / "data" / "postmaster.pid") >> postmaster;
  REQUIRE(postmaster > 0);
  REQUIRE(::kill(postmaster, SIGINT) == 0);
  for (int i = 0; i < 1500 && ::kill(postmaster, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(::kill(postmaster, 0) != 0);
  const std::string prefix = "the artifact catalog (PostgreSQL) is unavailable, retry later: postgresql:";
  for (const std::string path : {"/artifacts", "/artifacts/net/versions", "/artifacts/net/v1/download?path=weights.bin"}) {
    const Reply r = Get(Base(port) + path);
    INFO(path << ": " << r.body);
    CHECK(r.status == 503);
    CHECK(r.detail().rfind(prefix, 0) == 0);
  }
  const std::string v2 = w.Manifest("net", 2);
  // v2's one chunk is in the bucket, so the manifest gets as far as PostgreSQL.
  const auto v2_chunks = w.Chunks("net", 2);
  REQUIRE(v2_chunks.size() == 1);
  REQUIRE(team.chunks->PutIfAbsent(v2_chunks.begin()->first, RandomBytes(5000, 62)).ok());
  const Reply put = Http("PUT", Base(port) + "/ingest/artifacts/net/v2", &v2);
  CHECK(put.status == 503);
  CHECK(put.detail().rfind(prefix, 0) == 0);
  const std::string alias = R"({"version":1})";
  const Reply moved = Http("PUT", Base(port) + "/ingest/artifacts/net/aliases/production", &alias);
  CHECK(moved.status == 503);
  CHECK(moved.detail().rfind(prefix, 0) == 0);
  viewer->Stop();
}

#else

TEST_CASE("artifacts on PostgreSQL and S3 need libpq", "[s3][pg][artifacts]") {
  WARN("SKIPPED: this runicorn was built without libpq (libpq-dev)");
}

#endif
