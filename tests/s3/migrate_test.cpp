// `runicorn migrate --to postgresql://… --objects s3://…`: the real binary, a private PostgreSQL 15
// and a real Ceph RGW. The copy is checked here independently of the command's own verification:
// the runs PostgreSQL lists, the artifact versions and aliases it resolves, and the segment
// objects in the bucket (byte-identical to the local files, so every point is identical).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"

#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_server.h"
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_run_catalog.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/s3_client.h"

namespace fs = std::filesystem;
namespace bj = boost::json;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/runicorn-s3-migrate-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

// Runs `runicorn migrate ARGS` to completion with only the given AWS_* variables.
Outcome Migrate(const std::vector<std::string>& args, const std::map<std::string, std::string>& extra_env,
                const fs::path& scratch) {
  runicorn::testing::RunicornProcess migrate("migrate", args, extra_env, scratch);
  const int code = migrate.Wait();
  return {code, migrate.out(), migrate.err()};
}

struct WrittenStore {
  std::vector<std::string> ids;
  std::unique_ptr<runtrack::Run> live;  // still running while it is held (this process is alive)
};

// Three finished runs with config, summary and tags, one still running, and a model with two
// versions and a user alias.
WrittenStore WriteStore(const fs::path& root, const fs::path& scratch) {
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  WrittenStore written;
  std::vector<std::string>& ids = written.ids;
  for (int r = 0; r < 4; ++r) {
    runtrack::RunOptions o;
    o.project = "vision";
    o.name = fmt::format("resnet-{}", r);
    o.config = bj::object{{"lr", 0.001 * (r + 1)}, {"layers", 18 + r}};
    o.tags = {"migrate", r % 2 ? "odd" : "even"};
    if (r == 1) {  // a v0.6 run: its path and alias travel too
      o.path = "vision/resnet";
      o.alias = "baseline";
    }
    auto run = (*store)->CreateRun(o);
    REQUIRE(run.ok());
    for (int step = 1; step <= 5000; ++step) {
      REQUIRE((*run)->Log(step, "loss", std::exp(-step / 900.0) + 0.001 * (step % 7)).ok());
      if (step % 10 == 0) REQUIRE((*run)->Log(step, "acc", 1.0 - std::exp(-step / 1200.0)).ok());
    }
    REQUIRE((*run)->Summary(bj::object{{"best_loss", 0.0123 * (r + 1)}}).ok());
    ids.push_back((*run)->id());
    if (r < 3) REQUIRE((*run)->Finish().ok());
    else written.live = std::move(*run);
  }
  auto artifacts = runtrack::ArtifactStore::Open(root);
  REQUIRE(artifacts.ok());
  for (int v = 1; v <= 2; ++v) {
    const fs::path src = scratch / fmt::format("weights-{}.bin", v);
    std::string bytes(300 * 1024 + v, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + v * 7) % 251);
    std::ofstream(src, std::ios::binary) << bytes;
    auto artifact = runtrack::Artifact::Create("net", runtrack::ArtifactType::kModel);
    REQUIRE(artifact.ok());
    REQUIRE(artifact->AddFile(src, "weights.bin").ok());
    REQUIRE(artifacts->Log(*artifact, ids[v]).ok());
  }
  REQUIRE(artifacts->SetAlias("net", "production", 1).ok());
  return written;
}

}  // namespace

TEST_CASE("runicorn migrate copies a store into PostgreSQL and the bucket, checks it, and resumes",
          "[s3][rgw][pg][migrate]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  TempDir tmp;
  const fs::path root = tmp.path / "store";
  WrittenStore written = WriteStore(root, tmp.path);
  const std::vector<std::string>& ids = written.ids;
  {
    // Soft-delete the third run through the catalog (this process holds it only here).
    auto catalog = runtrack::Catalog::Open(root);
    REQUIRE(catalog.ok());
    REQUIRE((*catalog)->Refresh().ok());
    REQUIRE((*catalog)->SoftDelete(ids[2]).ok());
  }
  const std::string conninfo = pg.NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  S3Location loc;
  loc.bucket = fmt::format("rt-migrate-{}", ::getpid());
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  const runicorn::service::s3::S3Credentials creds{runicorn::testing::RgwTestServer::kAccessKey,
                                                   runicorn::testing::RgwTestServer::kSecretKey, ""};
  auto client = std::make_shared<S3Client>(loc, creds);
  REQUIRE(client->CreateBucket().ok());
  const std::string url = fmt::format("s3://{}/team?endpoint={}", loc.bucket, rgw.endpoint());
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", creds.access_key_id},
                                                  {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key},
                                                  {"HOME", tmp.path.string()}};
  const std::vector<std::string> args = {"--to", conninfo, "--objects", url, "--storage", root.string(), "--json"};

  Outcome first = Migrate(args, env, tmp.path);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.err == "");
  bj::object report = bj::parse(first.out).as_object();
  CHECK(report.at("runs").to_number<int64_t>() == 4);
  CHECK(report.at("runs_still_running").to_number<int64_t>() == 1);
  CHECK(report.at("artifact_versions_copied").to_number<int64_t>() == 2);
  CHECK(report.at("aliases_copied").to_number<int64_t>() == 1);
  CHECK(report.at("chunks_uploaded").to_number<int64_t>() > 0);
  // Three finished runs × two series (loss, acc) × (segment + LOD).
  CHECK(report.at("segment_series").to_number<int64_t>() == 6);
  CHECK(report.at("segment_objects_uploaded").to_number<int64_t>() == 12);
  const bj::object& verified = report.at("verified").as_object();
  CHECK(verified.at("mismatches").to_number<int64_t>() == 0);
  CHECK(verified.at("segment_objects").to_number<int64_t>() == 12);
  CHECK(report.at("problems").as_array().empty());

  // Independently: PostgreSQL lists every run, the deleted one as deleted, with its config.
  auto runs = runicorn::service::pg::PgRunCatalog::Open(conninfo);
  REQUIRE(runs.ok());
  runtrack::RunQuery all;
  all.include_deleted = true;
  auto page = (*runs)->ListRuns(all);
  REQUIRE(page.ok());
  std::set<std::string> listed;
  for (const auto& r : page->runs) listed.insert(r.id);
  CHECK(listed == std::set<std::string>(ids.begin(), ids.end()));
  auto deleted = (*runs)->GetRun(ids[2]);
  REQUIRE(deleted.ok());
  CHECK(deleted->run.deleted_at.has_value());
  CHECK(deleted->config == bj::object{{"lr", 0.003}, {"layers", 20}});
  CHECK((*runs)->GetRun(ids[3])->run.status == runtrack::RunStatus::kRunning);
  auto v06 = (*runs)->GetRun(ids[1]);
  REQUIRE(v06.ok());
  CHECK(v06->run.path == std::optional<std::string>("vision/resnet"));
  CHECK(v06->run.alias == "baseline");

  // ... resolves the alias to the version it names ...
  runicorn::service::pg::PgArtifactOptions artifact_options;
  artifact_options.chunk_root = tmp.path / "empty-replica";
  auto artifacts = runicorn::service::pg::PgArtifactRepository::Open(conninfo, artifact_options);
  REQUIRE(artifacts.ok());
  auto aliases = (*artifacts)->Aliases("net");
  REQUIRE(aliases.ok());
  CHECK(aliases->at("production") == 1);
  CHECK((*artifacts)->ListVersions("net", false)->size() == 2);

  // ... and the bucket holds every sealed object, byte for byte the local file.
  auto keys = client->ListAll("team/segments/");
  REQUIRE(keys.ok());
  CHECK(keys->size() == 12);
  {
    auto catalog = runtrack::Catalog::Open(root);  // the command has exited: this process may hold it
    REQUIRE(catalog.ok());
    auto refs = (*catalog)->ListSealedObjects();
    REQUIRE(refs.ok());
    REQUIRE(refs->size() == 6);
    const runtrack::StoreLayout layout(root);
    runicorn::service::s3::ObjectSegmentStore segments(client);
    for (const auto& ref : *refs) {
      auto segment = client->GetObject(segments.KeyOf(ref, runtrack::SealedObjectKind::kSegment));
      REQUIRE(segment.ok());
      CHECK(*segment == ReadAll(layout.segment_path(ref.run_id, ref.series, ref.point_count)));
      auto lod = client->GetObject(segments.KeyOf(ref, runtrack::SealedObjectKind::kLod));
      REQUIRE(lod.ok());
      CHECK(*lod == ReadAll(layout.lod_path(ref.run_id, ref.series, ref.point_count)));
    }
  }

  // Run again (an interrupted migration is resumed this way): no byte is sent twice.
  Outcome second = Migrate(args, env, tmp.path);
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  bj::object again = bj::parse(second.out).as_object();
  CHECK(again.at("artifact_versions_copied").to_number<int64_t>() == 0);
  CHECK(again.at("artifact_versions_already_there").to_number<int64_t>() == 2);
  CHECK(again.at("chunks_uploaded").to_number<int64_t>() == 0);
  CHECK(again.at("chunk_bytes_uploaded").to_number<int64_t>() == 0);
  CHECK(again.at("segment_objects_uploaded").to_number<int64_t>() == 0);
  CHECK(again.at("segment_bytes_uploaded").to_number<int64_t>() == 0);
  CHECK(again.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);

  // The human-readable report of a third run.
  std::vector<std::string> text_args(args.begin(), args.end() - 1);  // without --json
  Outcome third = Migrate(text_args, env, tmp.path);
  CHECK(third.exit_code == 0);
  CHECK(third.out.find("artifacts: 0 versions copied, 2 already there, 0 aliases\n") != std::string::npos);
  CHECK(third.out.find("chunks: 0 uploaded (") != std::string::npos);
  INFO(third.out);
  CHECK(third.out.find("metric segments: 6 sealed series, 0 objects uploaded (0 B)\n") != std::string::npos);
  CHECK(third.out.find("verified: 4 runs, 2 artifact versions, ") != std::string::npos);
  CHECK(third.out.find("12 segment objects (") != std::string::npos);
  CHECK(third.out.find("): identical\n") != std::string::npos);
  CHECK(third.out.find("note: 1 run is still running; its points stay in this store until it finishes") !=
        std::string::npos);
}

TEST_CASE("runicorn migrate refuses bad destinations before touching anything", "[s3][rgw][pg][migrate]") {
  TempDir tmp;
  const fs::path root = tmp.path / "store";
  fs::create_directories(root);
  const std::map<std::string, std::string> env = {{"HOME", tmp.path.string()}};

  // A password on the command line would show in `ps`.
  Outcome with_password = Migrate({"--to", "postgresql://alice:secret@db.example/runs", "--objects",
                                   "s3://bucket/p?endpoint=http://127.0.0.1:9", "--storage", root.string()},
                                  env, tmp.path);
  CHECK(with_password.exit_code == 2);
  CHECK(with_password.err.starts_with("runicorn migrate: --to: "));
  CHECK(with_password.err.find("secret") == std::string::npos);

  // Both destinations are required.
  Outcome no_objects = Migrate({"--to", "host=/nonexistent dbname=x", "--storage", root.string()}, env, tmp.path);
  CHECK(no_objects.exit_code == 2);
  CHECK(no_objects.err.starts_with("usage: runicorn migrate --to"));

  // A bad bucket URL stops it before PostgreSQL or the store are opened.
  Outcome bad_bucket = Migrate({"--to", "host=/nonexistent dbname=x", "--objects", "s3://Bad_Bucket", "--storage",
                                root.string()},
                               env, tmp.path);
  CHECK(bad_bucket.exit_code == 2);
  CHECK(bad_bucket.err == "runicorn migrate: --objects: bucket name may hold only a-z, 0-9, '.' and '-'\n");

  // The bucket unreachable: the first check (HEAD of the bucket) stops it; the store is untouched.
  const std::map<std::string, std::string> fake_keys = {
      {"HOME", tmp.path.string()}, {"AWS_ACCESS_KEY_ID", "k"}, {"AWS_SECRET_ACCESS_KEY", "s"}};
  Outcome no_bucket = Migrate({"--to", "host=/nonexistent dbname=x", "--objects",
                               "s3://team-bucket/p?endpoint=http://127.0.0.1:9", "--storage", root.string()},
                              fake_keys, tmp.path);
  CHECK(no_bucket.exit_code == 1);
  CHECK(no_bucket.err ==
        "runicorn migrate: s3: HeadBucket bucket team-bucket at http://127.0.0.1:9: Couldn't connect to server\n");
  CHECK(fs::is_empty(root));

  // PostgreSQL unreachable (a reachable bucket): an error naming the step; the store untouched.
  RUNICORN_S3_TEST_SERVER(rgw);
  S3Location loc;
  loc.bucket = fmt::format("rt-migrate-bad-{}", ::getpid());
  loc.endpoint = rgw.endpoint();
  const runicorn::service::s3::S3Credentials creds{runicorn::testing::RgwTestServer::kAccessKey,
                                                   runicorn::testing::RgwTestServer::kSecretKey, ""};
  REQUIRE(S3Client(loc, creds).CreateBucket().ok());
  Outcome no_pg = Migrate({"--to", "host=/nonexistent dbname=x", "--objects",
                           fmt::format("s3://{}/p?endpoint={}", loc.bucket, rgw.endpoint()), "--storage", root.string()},
                          {{"HOME", tmp.path.string()},
                           {"AWS_ACCESS_KEY_ID", creds.access_key_id},
                           {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key}},
                          tmp.path);
  INFO(no_pg.err);
  CHECK(no_pg.exit_code == 1);
  CHECK(no_pg.err.starts_with("runicorn migrate: PostgreSQL: "));
  CHECK(fs::is_empty(root));
}

#else
TEST_CASE("runicorn migrate needs the PostgreSQL back end", "[s3][migrate]") {
  WARN("skipped: built without libpq (libpq-dev)");
}
#endif  // RUNICORN_HAVE_PG
