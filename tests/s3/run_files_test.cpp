// Run logs and run files through PostgreSQL + the bucket (docs/SCALE-OUT.md "Run logs and run files
// in the bucket"), end to end: replica A (a real `runicorn viewer --catalog … --objects …`) publishes a
// finished run's multi-MB log and its files; replica B (another real viewer, on its own empty store)
// and an in-process replica C answer the log at every offset, the file count, the media listing and
// the downloads byte for byte as A does. A live run, an unknown run, damaged and missing objects,
// traversal paths, `gc --objects` and the permanent delete are answered exactly.
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "catalog/catalog_support.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "service/run_file_source.h"

#ifdef RUNICORN_HAVE_PG
#include "service/embedded_storage.h"
#include "service/follow.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_run_files.h"
#include "service/pg/pg_viewer_catalog.h"
#include "service/s3/object_chunk_gc.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/object_run_files.h"
#include "service/s3/s3_client.h"
#include "two_replicas_fixture.h"
#include "util/files.h"
#endif

namespace fs = std::filesystem;
using runicorn::service::ValidateRunFilePath;

TEST_CASE("run file paths: relative, no traversal, no control characters", "[run_files]") {
  for (const char* ok : {"media/a.png", "environment.json", "media/deep/er/x.bin", "a..b", ".hidden"})
    CHECK(ValidateRunFilePath(ok).ok());
  CHECK(ValidateRunFilePath("../journal").ToString() ==
        "invalid_argument: run file path \"../journal\" has an empty, \".\" or \"..\" component");
  CHECK(ValidateRunFilePath("media/../../etc/passwd").message() ==
        "run file path \"media/../../etc/passwd\" has an empty, \".\" or \"..\" component");
  CHECK(ValidateRunFilePath("/etc/passwd").message() == "run file path \"/etc/passwd\" is absolute");
  CHECK(ValidateRunFilePath("media//a").message() == "run file path \"media//a\" has an empty, \".\" or \"..\" component");
  CHECK(ValidateRunFilePath("media/").message() == "run file path \"media/\" has an empty, \".\" or \"..\" component");
  CHECK(ValidateRunFilePath("./a").message() == "run file path \"./a\" has an empty, \".\" or \"..\" component");
  CHECK(ValidateRunFilePath("media\\..\\x").message() ==
        "run file path \"media\\..\\x\" holds a control character or '\\'");
  CHECK(ValidateRunFilePath(std::string("a\nb")).message() == "run file path \"a?b\" holds a control character or '\\'");
  CHECK(ValidateRunFilePath("").message() == "run file path \"\" must be 1 to 1024 bytes");
  CHECK(ValidateRunFilePath(std::string(1025, 'a')).code() == runtrack::StatusCode::kInvalidArgument);
}

#ifdef RUNICORN_HAVE_PG

using runicorn::service::pg::PgConnection;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;
using runicorn::testing::RunicornProcess;

using namespace runicorn::testing::two_replicas;

namespace {

// The file_count of GET /api/v2/experiments/{id} (RunCatalog::CountRunFiles), or -1.
int64_t FileCount(int port, const std::string& id) {
  auto [code, body] = Get(port, "/api/v2/experiments/" + id);
  if (code != 200) return -1;
  return boost::json::parse(body).as_object().at("file_count").to_number<int64_t>();
}

}  // namespace

TEST_CASE("a replica serves the log and files of a run another replica published", "[s3][rgw][pg][run_files]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  runtrack::testing::TempDir tmp;
  TeamBackEnd team;
  if (!team.Start(rgw, "runfiles", tmp.path())) return;
  const std::string& conninfo = team.conninfo;
  const S3Location& loc = team.loc;
  const std::shared_ptr<S3Client>& bucket = team.bucket;

  // Replica A's store: a finished run with a 2.19 MB log, metrics, images (one of 3 MiB + 123
  // bytes: four range windows) and an environment capture, plus a file whose name a path check
  // refuses; and a run still being written.
  const fs::path root_a = tmp.path() / "a", root_b = tmp.path() / "b", root_c = tmp.path() / "c";
  std::string id;
  const std::string png = RandomBytes(4000, 1), big = RandomBytes((3u << 20) + 123, 2);
  const std::string images =
      "{\"key\":\"sample\",\"path\":\"media/a.png\",\"step\":3,\"caption\":\"first\",\"time\":1700000000.5}\n"
      "{\"key\":\"sample\",\"path\":\"media/big.png\",\"step\":7,\"time\":1700000001}\n";
  auto store = runtrack::testing::OpenStore(root_a);
  {
    auto run = runtrack::testing::NewRun(*store);
    id = run->id();
    for (int i = 0; i < 30000; ++i) {
      REQUIRE(run->LogText(fmt::format("epoch {:05d} loss {:.6f} Ünïcode ✓ and some padding to make it long", i,
                                       1.0 / (i + 1)))
                  .ok());
      if (i % 10 == 0) REQUIRE(run->Log(i, "loss", 1.0 / (i + 1)).ok());
    }
    const runtrack::StoreLayout layout(root_a);
    fs::create_directories(layout.media_dir(id));
    REQUIRE(runtrack::util::WriteFileAtomic(layout.media_dir(id) / "a.png", png).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout.media_dir(id) / "big.png", big).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout.media_dir(id) / "evil\\name.png", "x").ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout.media_dir(id) / "images.jsonl", images).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout.environment_path(id), "{\"python\":\"3.11\"}").ok());
    REQUIRE(run->Finish().ok());
  }
  auto live = runtrack::testing::NewRun(*store);
  REQUIRE(live->LogText("still going").ok());
  REQUIRE(live->Flush().ok());

  std::optional<Replica> a;
  a.emplace(root_a, team, tmp.path() / "out-a");
  // Published: four files (not the journal, the segments, nor the refused name), and the log.
  const std::string files_sql = "SELECT string_agg(path || ':' || size, ',' ORDER BY path) FROM run_files WHERE run_id = $1";
  const std::string expected_rows =
      fmt::format("environment.json:17,media/a.png:4000,media/big.png:{},media/images.jsonl:{}", big.size(),
                  images.size());
  INFO(a->process->err());
  REQUIRE(WaitFor([&] { return One(conninfo, files_sql, id) == expected_rows; }));
  // The count and the log's size as A answers them once its folder is settled (sealed, compacted).
  REQUIRE(WaitFor([&] {
    const int64_t on_a = FileCount(a->port, id);
    return on_a > 0 && One(conninfo, "SELECT folder_files FROM run_file_sets WHERE run_id = $1", id) ==
                           std::to_string(on_a);
  }));
  CHECK(a->process->err().find(fmt::format("runicorn viewer: run file not published: {}: run file path "
                                           "\"media/evil\\name.png\" holds a control character or '\\'",
                                           id)) != std::string::npos);

  const std::vector<std::string> requests = {fmt::format("/api/runs/{}/media", id),
                                             fmt::format("/api/runs/{}/media/a.png", id),
                                             fmt::format("/api/runs/{}/media/big.png", id),
                                             fmt::format("/api/runs/{}/media/evil%5Cname.png", id),
                                             fmt::format("/api/runs/{}/media/nope.png", id),
                                             fmt::format("/api/runs/{}/media/..%2Fjournal", id)};
  auto answers = [&](int port) {
    std::vector<std::pair<long, std::string>> out;
    for (const std::string& r : requests) out.push_back(Get(port, r));
    return out;
  };
  const auto from_a = answers(a->port);
  REQUIRE(from_a.size() == 6);
  CHECK(from_a[0].first == 200);
  CHECK(from_a[0].second ==
        fmt::format("{{\"run_id\":\"{0}\",\"images\":[{{\"key\":\"sample\",\"file\":\"a.png\",\"url\":\"/api/runs/{0}/"
                    "media/a.png\",\"step\":3,\"caption\":\"first\",\"time\":1700000000.5,\"size\":4000}},"
                    "{{\"key\":\"sample\",\"file\":\"big.png\",\"url\":\"/api/runs/{0}/media/big.png\",\"step\":7,"
                    "\"caption\":null,\"time\":1700000001.0,\"size\":{1}}}]}}",
                    id, big.size()));
  CHECK(from_a[1] == std::pair<long, std::string>{200, png});
  CHECK(from_a[2] == std::pair<long, std::string>{200, big});
  CHECK(from_a[3] == std::pair<long, std::string>{400, "{\"detail\":\"Invalid media file name\"}"});
  CHECK(from_a[4] == std::pair<long, std::string>{404, "{\"detail\":\"Media file not found\"}"});
  CHECK(from_a[5].first != 200);  // a name with a '/' never reaches a file

  // B never had the run: every answer byte-identical from PostgreSQL + the bucket.
  std::optional<Replica> b;
  b.emplace(root_b, team, tmp.path() / "out-b");
  CHECK(answers(b->port) == from_a);
  CHECK(FileCount(b->port, id) == FileCount(a->port, id));
  CHECK_FALSE(fs::exists(runtrack::StoreLayout(root_b).run_dir(id)));

  // gc --objects collects chunks and segments only: the published run files stay.
  const std::string log_key = One(conninfo, "SELECT log_key FROM run_file_sets WHERE run_id = $1", id);
  const std::string big_key =
      One(conninfo, "SELECT object_key FROM run_files WHERE run_id = $1 AND path = 'media/big.png'", id);
  REQUIRE(log_key == runicorn::service::s3::RunFileObjectKey(loc, id, runicorn::service::s3::Sha256Hex(
                                                                          *bucket->GetObject(log_key))));
  {
    auto chunks = std::make_shared<runicorn::service::s3::ObjectChunkStore>(bucket);
    runicorn::service::s3::BucketGcOptions gc;
    gc.grace = std::chrono::seconds(0);
    gc.now = 4e9;  // far after every object was written
    REQUIRE(fs::create_directories(tmp.path() / "gc-store"));
    auto report = runicorn::service::s3::CollectBucketChunks(*chunks, tmp.path() / "gc-store", {}, gc);
    REQUIRE(report.ok());
    auto left = bucket->ListAll(runicorn::service::s3::RunFileObjectPrefix(loc, id));
    REQUIRE(left.ok());
    CHECK(left->size() == 5);  // the log and four files
  }

  // In-process replica C (its own empty store) against A's own answers, read in-process from A's
  // store once A has stopped: the log at every kind of offset, the tail, the count, the follower.
  const std::string a_count = std::to_string(FileCount(a->port, id));
  a.reset();
  b.reset();
  store.reset();
  live.reset();
  auto storage_a = runicorn::service::EmbeddedStorage::Open(root_a);
  REQUIRE(storage_a.ok());
  auto storage_c = runicorn::service::EmbeddedStorage::Open(root_c);
  REQUIRE(storage_c.ok());
  auto catalog_c = runicorn::service::pg::PgViewerCatalog::Open(conninfo, **storage_c);
  REQUIRE(catalog_c.ok());
  auto index = runicorn::service::pg::PgRunFiles::Open(conninfo);
  REQUIRE(index.ok());
  auto files = std::make_shared<runicorn::service::s3::ObjectRunFiles>(std::move(*index), bucket);
  (*catalog_c)->UseRunFiles(files);
  runicorn::service::RunCatalog& c = **catalog_c;
  runicorn::service::RunCatalog& on_a = **storage_a;

  auto whole = on_a.ReadLog(id, 0);
  REQUIRE(whole.ok());
  const uint64_t size = whole->size();
  REQUIRE(size == 2'190'000);  // 30000 lines of 73 bytes
  for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, size / 2, size - 100'000, size - 70, size - 1,
                          size, size + 5}) {
    INFO("offset " << offset);
    auto from_c = c.ReadLog(id, offset);
    REQUIRE(from_c.ok());
    auto expected = on_a.ReadLog(id, offset);
    REQUIRE(expected.ok());
    CHECK(*from_c == *expected);
  }
  CHECK(c.ReadLog(id, size - 70)->size() == 70);
  CHECK(std::to_string(*c.CountRunFiles(id)) == a_count);
  CHECK(*c.CountRunFiles(id) == *on_a.CountRunFiles(id));
  {
    auto follower_c = runicorn::service::MakeLogFollower(c, id);
    auto follower_a = runicorn::service::MakeLogFollower(on_a, id);
    REQUIRE(follower_c.ok());
    REQUIRE(follower_a.ok());
    auto lines_c = follower_c->NextLines(), lines_a = follower_a->NextLines();
    REQUIRE(lines_c.ok());
    REQUIRE(lines_a.ok());
    CHECK(lines_c->size() == 30000);
    CHECK(*lines_c == *lines_a);
  }

  // The live run (its writer is gone, but PostgreSQL last heard it running) and an unknown run.
  const std::string live_id = One(conninfo, "SELECT id FROM runs WHERE id <> $1", id);
  REQUIRE_FALSE(live_id.empty());
  CHECK(c.ReadLog(live_id, 0).status().ToString() ==
        fmt::format("failed_precondition: run {} is live on the replica that owns it: its log and files are on that "
                    "replica's disk until it ends and they are published",
                    live_id));
  CHECK(c.CountRunFiles(live_id).status().code() == runtrack::StatusCode::kFailedPrecondition);
  CHECK(c.ReadLog("20261203_101010_abcdef", 0).status().code() == runtrack::StatusCode::kNotFound);

  // Traversal paths: refused at read, at publish (nothing written) and by the table itself.
  CHECK(files->ReadFile(id, "../journal").status().ToString() ==
        "invalid_argument: run file path \"../journal\" has an empty, \".\" or \"..\" component");
  CHECK(files->OpenFile(id, "/etc/passwd").status().ToString() ==
        "invalid_argument: run file path \"/etc/passwd\" is absolute");
  CHECK(files->ReadFile(id, "media/nope.png").status().ToString() == "not_found: Run file not found");
  {
    auto writer = runicorn::service::pg::PgRunFiles::Open(conninfo);
    REQUIRE(writer.ok());
    auto set = (*writer)->ReadSet(id);
    REQUIRE(set.ok());
    REQUIRE(set->has_value());
    runicorn::service::s3::RunFileSet evil = **set;
    evil.files[0].path = "media/../../../etc/passwd";
    CHECK((*writer)->ReplaceRun(id, evil).ToString() ==
          "invalid_argument: run file path \"media/../../../etc/passwd\" has an empty, \".\" or \"..\" component");
    CHECK(One(conninfo, files_sql, id) == expected_rows);
    auto conn = PgConnection::Connect(conninfo);
    REQUIRE(conn.ok());
    auto inserted = (*conn)->Exec(
        "INSERT INTO run_files (run_id, path, object_key, size, sha256) VALUES ($1, '../x', 'k', 1, $2)",
        {id, std::string(64, 'a')});
    CHECK(inserted.status().code() == runtrack::StatusCode::kFailedPrecondition);  // 23514 check_violation
    CHECK(inserted.status().message().find("23514") != std::string::npos);
  }

  // Damaged and missing objects: Corruption naming the run and the key, never wrong bytes.
  const std::string log_sha = One(conninfo, "SELECT log_sha256 FROM run_file_sets WHERE run_id = $1", id);
  auto original_log = bucket->GetObject(log_key);
  REQUIRE(original_log.ok());
  std::string damaged = *original_log;
  damaged[size / 3] ^= 0x20;
  REQUIRE(bucket->PutObject(log_key, damaged).ok());
  CHECK(c.ReadLog(id, size - 70).status().ToString() ==
        fmt::format("corruption: the log of run {} in the bucket ({}) does not match its size {} and SHA-256 {}", id,
                    log_key, size, log_sha));
  REQUIRE(bucket->PutObject(log_key, *original_log).ok());
  CHECK(c.ReadLog(id, size - 70).ok());

  const std::string big_sha = One(conninfo, "SELECT sha256 FROM run_files WHERE run_id = $1 AND path = 'media/big.png'", id);
  std::string damaged_big = big;
  damaged_big[big.size() - 5] ^= 0x01;  // in the last window: found when the stream ends
  REQUIRE(bucket->PutObject(big_key, damaged_big).ok());
  {
    auto stream = files->OpenFile(id, "media/big.png");
    REQUIRE(stream.ok());
    CHECK((*stream)->size() == big.size());
    runtrack::Status status = runtrack::Status::Ok();
    const std::string read = ReadAll(**stream, &status);
    CHECK(read.size() == 3u << 20);  // the three verified-in-order windows before the last
    CHECK(read == big.substr(0, 3u << 20));
    CHECK(status.ToString() ==
          fmt::format("corruption: run file media/big.png of run {} in the bucket ({}) does not match its SHA-256 {}", id,
                      big_key, big_sha));
  }
  REQUIRE(bucket->PutObject(big_key, big.substr(0, 2u << 20)).ok());  // cut short
  {
    auto stream = files->OpenFile(id, "media/big.png");
    REQUIRE(stream.ok());
    runtrack::Status status = runtrack::Status::Ok();
    ReadAll(**stream, &status);
    CHECK(status.ToString() == fmt::format("corruption: run file media/big.png of run {} in the bucket ({}) is shorter "
                                           "than its {} bytes",
                                           id, big_key, big.size()));
  }
  REQUIRE(bucket->DeleteObject(big_key).ok());
  auto missing = files->OpenFile(id, "media/big.png");
  CHECK(missing.status().code() == runtrack::StatusCode::kCorruption);
  CHECK(missing.status().message().rfind(fmt::format("the file media/big.png of run {} was published to {} but cannot "
                                                     "be read: s3: ",
                                                     id, big_key),
                                         0) == 0);
  // Through HTTP on a replica: 500 with that message before any byte is sent.
  b.emplace(root_b, team, tmp.path() / "out-b2");
  auto broken = Get(b->port, fmt::format("/api/runs/{}/media/big.png", id));
  CHECK(broken.first == 500);
  CHECK(broken.second.rfind(fmt::format("{{\"detail\":\"the file media/big.png of run {} was published to {} but "
                                        "cannot be read: s3: ",
                                        id, big_key),
                            0) == 0);
  CHECK(Get(b->port, fmt::format("/api/runs/{}/media/a.png", id)) == std::pair<long, std::string>{200, png});
  b.reset();

  // A permanent delete through a replica that does not hold the run removes its rows and objects.
  REQUIRE(c.SoftDelete(id).ok());
  REQUIRE(c.PermanentDelete(id).ok());
  CHECK(One(conninfo, "SELECT count(*) FROM run_file_sets WHERE run_id = $1", id) == "0");
  CHECK(One(conninfo, "SELECT count(*) FROM run_files WHERE run_id = $1", id) == "0");
  auto left = bucket->ListAll(runicorn::service::s3::RunFileObjectPrefix(loc, id));
  REQUIRE(left.ok());
  CHECK(left->empty());
}

#endif  // RUNICORN_HAVE_PG
