// The segment index in PostgreSQL (docs/SCALE-OUT.md "Segment index in PostgreSQL"), end to end:
// two real `runicorn viewer --catalog … --objects …` replicas with their own store folders on one
// private PostgreSQL 15 and one Ceph RGW. Replica A indexes, seals and publishes a run; replica B,
// which never saw its journal, answers the same metric requests with byte-identical bodies from
// the bucket; a re-sealed run is read in its new form; a live run, a damaged object and a stopped
// PostgreSQL are answered with their errors, never with wrong or partial numbers.
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "catalog/sealed_support.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"

#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_server.h"
#include "service/pg/pg_connection.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/s3_client.h"
#include "util/files.h"

namespace fs = std::filesystem;
using runicorn::service::pg::PgConnection;
using runicorn::service::s3::ObjectSegmentStore;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;
using runicorn::testing::RunicornProcess;

namespace {

size_t AppendTo(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::pair<long, std::string> Get(int port, const std::string& path) {
  std::string body;
  CURL* curl = curl_easy_init();
  const std::string url = fmt::format("http://127.0.0.1:{}{}", port, path);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  return {code, body};
}

// One text value of a one-row query ("" on error).
std::string One(const std::string& conninfo, const std::string& sql, const std::string& param) {
  auto conn = PgConnection::Connect(conninfo);
  if (!conn.ok()) return "";
  auto rows = (*conn)->Exec(sql, {param});
  if (!rows.ok() || rows->rows() != 1) return "";
  return std::string(rows->Get(0, 0));
}

// Polls `ready` every 100 ms for up to a minute.
template <typename Ready>
bool WaitFor(const Ready& ready) {
  for (int i = 0; i < 600; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct Replica {
  std::unique_ptr<RunicornProcess> process;
  int port = 0;
  Replica(const fs::path& root, const std::string& conninfo, const std::string& objects,
          const std::map<std::string, std::string>& env, const fs::path& out_dir) {
    fs::create_directories(out_dir);
    process = std::make_unique<RunicornProcess>(
        "viewer",
        std::vector<std::string>{"--storage", root.string(), "--port", "0", "--catalog", conninfo, "--objects", objects},
        env, out_dir);
    port = process->WaitForPort();
    INFO("stdout: " << process->out() << "\nstderr: " << process->err());
    REQUIRE(port > 0);
  }
};

std::string JournalOf(const fs::path& root, const std::string& id) {
  auto bytes = runtrack::util::ReadFile(runtrack::StoreLayout(root).journal_path(id));
  REQUIRE(bytes.ok());
  return *bytes;
}

}  // namespace

TEST_CASE("a replica charts a run another replica sealed, from the segment index and the bucket",
          "[s3][rgw][pg][segment_index]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  // A PostgreSQL of its own: the case stops it to see what a replica answers without it.
  std::optional<runicorn::testing::PgTestServer> pg;
  pg.emplace();
  RUNICORN_PG_REQUIRE_AVAILABLE((*pg));
  const std::string conninfo = pg->NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  runtrack::testing::TempDir tmp;
  S3Location loc;
  loc.bucket = fmt::format("rt-segindex-{}", ::getpid());
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  auto bucket = std::make_shared<S3Client>(
      loc, runicorn::service::s3::S3Credentials{runicorn::testing::RgwTestServer::kAccessKey,
                                                runicorn::testing::RgwTestServer::kSecretKey, ""});
  REQUIRE(bucket->CreateBucket().ok());
  const std::string objects = fmt::format("s3://{}/team?endpoint={}", loc.bucket, rgw.endpoint());
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", runicorn::testing::RgwTestServer::kAccessKey},
                                                  {"AWS_SECRET_ACCESS_KEY", runicorn::testing::RgwTestServer::kSecretKey},
                                                  {"HOME", tmp.path().string()}};

  // Replica A's store: a run whose writer "died" after 5000 steps (its journal is cut there; the
  // 3000 steps it logged after come back later), and a run still being written.
  const fs::path root_a = tmp.path() / "a", root_b = tmp.path() / "b";
  std::string id, first_journal, whole_journal;
  auto store = runtrack::testing::OpenStore(root_a);
  {
    auto run = runtrack::testing::NewRun(*store);
    id = run->id();
    runtrack::testing::LogMixedRun(*run, 5000);
    REQUIRE(run->Flush().ok());
    first_journal = JournalOf(root_a, id);
    runtrack::testing::LogMixedRun(*run, 3000, 9);
    REQUIRE(run->Flush().ok());
    whole_journal = JournalOf(root_a, id);
  }
  REQUIRE(runtrack::util::WriteFileAtomic(runtrack::StoreLayout(root_a).journal_path(id), first_journal).ok());
  auto live = runtrack::testing::NewRun(*store);
  REQUIRE(live->Log(1, "loss", 0.5).ok());
  REQUIRE(live->Flush().ok());

  const std::string count_sql = "SELECT count(*) || ':' || coalesce(min(point_count), 0) FROM segments WHERE run_id = $1";
  Replica a(root_a, conninfo, objects, env, tmp.path() / "out-a");
  // Indexed, marked failed (no writer holds it), sealed, published, then recorded in the index.
  INFO(a.process->err());
  REQUIRE(WaitFor([&] { return One(conninfo, count_sql, id) == "4:5000"; }));

  const std::vector<std::string> queries = {
      fmt::format("/api/runs/{}/metrics_step", id),  // every metric's name and point
      fmt::format("/api/runs/{}/metrics_step?downsample=500", id),
      fmt::format("/api/runs/{}/metrics_step?downsample=300&metrics=loss,noise,nope&step_range=777:4000", id),
      fmt::format("/api/runs/{}/metrics_step?metrics=special&max_rows=1234", id),
      fmt::format("/api/runs/{}/metrics?time=relative&downsample=200&method=m4", id),
      fmt::format("/api/runs/{}/metrics_step?metrics=backwards&downsample=100", id),
      fmt::format("/api/export/{}/csv", id)};  // streamed in pages
  auto bodies = [&](int port) {
    std::vector<std::string> out;
    for (const std::string& q : queries) {
      auto [code, body] = Get(port, q);
      INFO(q << "\n" << body.substr(0, 300));
      CHECK(code == 200);
      out.push_back(body);
    }
    return out;
  };
  const std::vector<std::string> from_a = bodies(a.port);

  std::optional<Replica> b;
  b.emplace(root_b, conninfo, objects, env, tmp.path() / "out-b");
  CHECK(bodies(b->port) == from_a);
  CHECK_FALSE(fs::exists(runtrack::StoreLayout(root_b).run_dir(id)));  // nothing of the run on B's disk

  // The live run is listed by every replica, but its points are on A's disk only.
  REQUIRE(WaitFor([&] { return Get(b->port, fmt::format("/api/runs/{}", live->id())).first == 200; }));
  auto live_answer = Get(b->port, fmt::format("/api/runs/{}/metrics_step", live->id()));
  CHECK(live_answer.first == 409);
  CHECK(live_answer.second ==
        fmt::format("{{\"detail\":\"run {} is live on the replica that owns it: its newest points are only on that "
                    "replica's disk, so its metrics are served there until it ends and is sealed\"}}",
                    live->id()));
  CHECK(Get(a.port, fmt::format("/api/runs/{}/metrics_step", live->id())).first == 200);
  auto unknown = Get(b->port, "/api/runs/20261203_101010_abcdef/metrics_step");  // well-formed, never created
  CHECK(unknown.first == 404);
  CHECK(unknown.second == "{\"detail\":\"Run not found\"}");

  // The writer comes back with 3000 more steps: A re-seals the run (new object names), the index
  // row of each series is replaced, and B answers from the new objects.
  REQUIRE(runtrack::util::WriteFileAtomic(runtrack::StoreLayout(root_a).journal_path(id), whole_journal).ok());
  REQUIRE(WaitFor([&] { return One(conninfo, count_sql, id) == "4:8000"; }));
  const std::vector<std::string> resealed_a = bodies(a.port);
  CHECK(resealed_a != from_a);
  CHECK(bodies(b->port) == resealed_a);

  // A damaged block in the bucket: a replica without the file answers 500 with the Corruption
  // for the queries that read that block.
  b.reset();
  const std::string seg_key = One(conninfo, "SELECT segment_key FROM segments WHERE run_id = $1 AND metric = 'loss'", id);
  REQUIRE_FALSE(seg_key.empty());
  auto object = bucket->GetObject(seg_key);
  REQUIRE(object.ok());
  std::string damaged = *object;
  damaged[200] ^= 0x01;  // inside the first block
  REQUIRE(bucket->PutObject(seg_key, damaged).ok());
  b.emplace(root_b, conninfo, objects, env, tmp.path() / "out-b2");
  auto broken = Get(b->port, fmt::format("/api/runs/{}/metrics_step?metrics=loss", id));
  CHECK(broken.first == 500);
  CHECK(broken.second == "{\"detail\":\"block at ordinal 0 fails its CRC-32C check\"}");
  // A chart reads the first and last raw points of the range too (the damaged block): the same.
  CHECK(Get(b->port, queries[1]) == broken);
  // The other series are intact and answer as on A.
  const std::string noise = fmt::format("/api/runs/{}/metrics_step?metrics=noise,special", id);
  auto intact = Get(b->port, noise);
  CHECK(intact.first == 200);
  CHECK(intact == Get(a.port, noise));
  REQUIRE(bucket->PutObject(seg_key, *object).ok());

  // PostgreSQL stops: the run catalog and the segment index answer 503, retry later.
  pg.reset();
  auto down = Get(b->port, fmt::format("/api/runs/{}/metrics_step?downsample=50", id));
  CHECK(down.first == 503);
  CHECK(down.second.rfind("{\"detail\":\"the segment index (PostgreSQL) is unavailable, retry later: postgresql: ", 0) ==
        0);
  // A still answers for its own run from its own store.
  CHECK(Get(a.port, queries[1]) == std::pair<long, std::string>{200, resealed_a[1]});
}

#endif  // RUNICORN_HAVE_PG
