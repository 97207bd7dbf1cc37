// `runicorn artifacts download --catalog postgresql://… --objects s3://…` (docs/SCALE-OUT.md
// "Artifacts": downloading without a local store): the real binary, with no store of its own,
// writes the same files, the same --json and the same errors as a download from the
// writer's own store. Real PostgreSQL 15 (a password role for the wrong-password case) and Ceph RGW.
#include <catch2/catch.hpp>

#ifdef RUNICORN_HAVE_PG

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "service/pg/pg_artifact_mirror.h"
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_connection.h"
#include "service/s3/object_chunk_pool.h"
#include "service/s3/object_chunk_source.h"
#include "team_fixture.h"

namespace {

namespace fs = std::filesystem;
using runicorn::testing::RandomBytes;
using runicorn::testing::RunicornProcess;
using runicorn::testing::Slurp;

struct Outcome {
  int code = -1;
  std::string out, err;
};

// Files under `dir` (relative path -> bytes); empty when `dir` does not exist.
std::map<std::string, std::string> FilesUnder(const fs::path& dir) {
  std::map<std::string, std::string> files;
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[e.path().lexically_relative(dir).generic_string()] = Slurp(e.path());
  return files;
}

// The one role of the test server that must give a password: a line ahead of the "trust" ones in
// pg_hba.conf, then a reload, awaited until a wrong password is refused.
void AddPasswordRole(runicorn::testing::PgTestServer& pg, const std::string& conninfo, const std::string& role,
                     const std::string& password) {
  auto admin = runicorn::service::pg::PgConnection::Connect(conninfo);
  REQUIRE(admin.ok());
  REQUIRE((*admin)->Exec(fmt::format("CREATE ROLE {} LOGIN SUPERUSER PASSWORD '{}'", role, password)).ok());
  const fs::path hba = pg.dir() / "data" / "pg_hba.conf";
  const std::string rules = Slurp(hba);
  REQUIRE_FALSE(rules.empty());
  {
    std::ofstream out(hba, std::ios::trunc);  // the file keeps its owner and mode
    out << fmt::format("local all {} scram-sha-256\n", role) << rules;
  }
  REQUIRE((*admin)->Exec("SELECT pg_reload_conf()").ok());
  std::string as_role = conninfo;
  as_role.replace(as_role.find("user=postgres"), 13, "user=" + role);
  REQUIRE(runicorn::testing::Eventually([&] {
    return !runicorn::service::pg::PgConnection::Connect(as_role + " password=not-it").ok();
  }));
}

}  // namespace

TEST_CASE("artifacts download --catalog --objects: a version from PostgreSQL + the bucket, no local store",
          "[s3][rgw][pg][artifacts][cli][binary]") {
  // Its own server: the case edits pg_hba.conf and adds a role, which would reach every case on a
  // shared one.
  runicorn::testing::PgTestServer pg;
  RUNICORN_PG_REQUIRE_AVAILABLE(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  runicorn::testing::TeamBackEnd team(pg.NewDatabase(), rgw.endpoint(), "rt-catdl");

  // The writer's store: net v1 (two files), v2 (one), an alias; published by the artifact mirror.
  const fs::path writer = team.tmp.path / "writer", src = team.tmp.path / "src";
  auto opened = runtrack::ArtifactStore::Open(writer);
  REQUIRE(opened.ok());
  runtrack::ArtifactStore& local = *opened;
  const std::string weights = RandomBytes(3 * 1024 * 1024 + 11, 81), config = "{\"layers\": 12}\n",
                    weights2 = RandomBytes(200000, 82);
  auto log = [&](const std::map<std::string, std::string>& files) {
    fs::remove_all(src);
    auto artifact = runtrack::Artifact::Create("net", runtrack::ArtifactType::kModel);
    REQUIRE(artifact.ok());
    for (const auto& [name, bytes] : files) {
      fs::create_directories((src / name).parent_path());
      std::ofstream(src / name, std::ios::binary) << bytes;
      REQUIRE(artifact->AddFile(src / name, name).ok());
    }
    auto v = local.Log(*artifact, "");
    REQUIRE(v.ok());
    return *v;
  };
  REQUIRE(log({{"weights.bin", weights}, {"cfg/config.json", config}}) == 1);
  REQUIRE(log({{"weights.bin", weights2}}) == 2);
  auto repo = runicorn::service::pg::PgArtifactRepository::Open(
      team.conninfo, {team.tmp.path / "reader", std::make_shared<runicorn::service::s3::ObjectChunkSource>(team.chunks)});
  REQUIRE(repo.ok());
  std::shared_ptr<runicorn::service::pg::PgArtifactRepository> shared_repo(std::move(*repo));
  runicorn::service::pg::PgArtifactMirror mirror(
      writer, shared_repo, std::make_shared<runicorn::service::s3::ObjectChunkPool>(team.chunks));
  auto pass = mirror.Pass();
  INFO(pass.status().ToString());
  REQUIRE(pass.ok());
  REQUIRE(pass->versions_published == 2);
  REQUIRE(shared_repo->SetAlias("net", "best", 1).ok());
  REQUIRE(local.SetAlias("net", "best", 1).ok());  // the same aliases on both sides, for the messages
  auto aliases = shared_repo->Aliases("net");
  REQUIRE(aliases.ok());
  REQUIRE(aliases->count("best") == 1);
  REQUIRE(aliases->at("best") == 1);

  // Each command runs from an empty folder of its own; HOME has no saved store either.
  const fs::path laptop = team.tmp.path / "laptop", tmpdir = team.tmp.path / "tmpdir";
  fs::create_directories(tmpdir);
  int runs = 0;
  auto run = [&](std::vector<std::string> args, const std::map<std::string, std::string>& extra_env = {}) {
    const fs::path dir = laptop / fmt::format("cmd{}", runs++);
    fs::create_directories(dir);
    std::map<std::string, std::string> env = team.env;
    env["TMPDIR"] = tmpdir.string();
    for (const auto& [k, v] : extra_env) env[k] = v;
    args.insert(args.begin(), "download");
    RunicornProcess p("artifacts", args, env, dir);
    Outcome o;
    o.code = p.Wait();
    o.out = p.out();
    o.err = p.err();
    return o;
  };
  auto from_team = [&](const std::string& spec, const fs::path& out, std::vector<std::string> more = {}) {
    std::vector<std::string> args{spec, "--output", out.string(), "--catalog", team.conninfo, "--objects", team.url,
                                  "--no-progress"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };
  auto from_writer = [&](const std::string& spec, const fs::path& out, std::vector<std::string> more = {}) {
    std::vector<std::string> args{spec, "--output", out.string(), "--storage", writer.string(), "--no-progress"};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  };

  {  // the files, the text and --json answers are the local download's; aliases and latest resolve
    const fs::path out = laptop / "out-best";
    Outcome team_best = from_team("net:best", out);
    INFO(team_best.err);
    REQUIRE(team_best.code == 0);
    CHECK(team_best.out == fmt::format("downloaded net:v1 (2 files, 3.0 MiB) to {}\n", out.string()));
    CHECK(team_best.err.empty());
    CHECK(FilesUnder(out) == std::map<std::string, std::string>{{"weights.bin", weights}, {"cfg/config.json", config}});
    // Every chunk came from the bucket through a temporary empty chunk folder, removed afterwards.
    CHECK(fs::is_empty(tmpdir));

    Outcome team_json = from_team("net", laptop / "out-latest", {"--json"});
    Outcome local_json = from_writer("net", laptop / "out-latest-local", {"--json"});
    REQUIRE(team_json.code == 0);
    REQUIRE(local_json.code == 0);
    auto a = boost::json::parse(team_json.out).as_object(), b = boost::json::parse(local_json.out).as_object();
    CHECK(a.at("artifact") == "net:v2");
    CHECK(a.at("output") == boost::json::value((laptop / "out-latest").string()));
    a.erase("output");
    b.erase("output");
    CHECK(a == b);
    CHECK(FilesUnder(laptop / "out-latest") == FilesUnder(laptop / "out-latest-local"));
    CHECK(Slurp(laptop / "out-latest" / "weights.bin") == weights2);

    Outcome numbered = from_team("net", laptop / "out-v1", {"1"});
    CHECK(numbered.code == 0);
    CHECK(FilesUnder(laptop / "out-v1") == FilesUnder(out));
  }

  {  // an unknown version, name or alias answers as the local store does, writing nothing
    for (const std::string spec : {"net:v9", "nope", "net:worst"}) {
      Outcome team_answer = from_team(spec, laptop / "out-missing");
      Outcome local_answer = from_writer(spec, laptop / "out-missing-local");
      INFO(spec << ": " << team_answer.err);
      CHECK(team_answer.code == 4);
      CHECK(team_answer.code == local_answer.code);
      CHECK(team_answer.err == local_answer.err);
      CHECK(team_answer.out.empty());
      CHECK_FALSE(fs::exists(laptop / "out-missing"));
    }
    CHECK(from_team("net", laptop / "out-missing", {"v9"}).err ==
          "runicorn: version v9 of 'net' not found; existing versions: v1, v2\n");
  }

  {  // a soft-deleted version is not downloaded, as locally; restored, it is
    REQUIRE(shared_repo->Delete("net", 1, runtrack::DeleteMode::kSoft).ok());
    REQUIRE(local.Delete("net", 1, runtrack::DeleteMode::kSoft).ok());
    Outcome team_answer = from_team("net:v1", laptop / "out-deleted");
    Outcome local_answer = from_writer("net:v1", laptop / "out-deleted-local");
    INFO(team_answer.err);
    CHECK(team_answer.code == 5);  // FailedPrecondition, as locally
    CHECK(team_answer.code == local_answer.code);
    CHECK(team_answer.err == local_answer.err);
    CHECK_FALSE(fs::exists(laptop / "out-deleted"));
    REQUIRE(shared_repo->Restore("net", 1).ok());
    CHECK(from_team("net:v1", laptop / "out-restored").code == 0);
    CHECK(Slurp(laptop / "out-restored" / "weights.bin") == weights);
  }

  {  // bad command lines: a malformed spec, --catalog without --objects, a password in the URL
    Outcome bad_spec = from_team("net:", laptop / "out-bad");
    CHECK(bad_spec.code == 2);
    CHECK(bad_spec.err.rfind("usage: runicorn artifacts download", 0) == 0);
    Outcome no_objects = run({"net:v1", "--output", (laptop / "out-bad").string(), "--catalog", team.conninfo});
    CHECK(no_objects.code == 2);
    CHECK(no_objects.err ==
          "runicorn artifacts download: --catalog needs --objects (the chunks are in the bucket)\n");
    Outcome with_password = run({"net:v1", "--output", (laptop / "out-bad").string(), "--catalog",
                                 team.conninfo + " password=hunter2-secret", "--objects", team.url});
    CHECK(with_password.code == 2);
    CHECK(with_password.err ==
          "runicorn: --catalog: the connection string contains a password, which every user of this machine can "
          "read (ps, /proc); remove it and put the password in PGPASSWORD, ~/.pgpass or the file PGPASSFILE names\n");
    CHECK(with_password.err.find("hunter2") == std::string::npos);
    // Refused before the bucket is contacted: a missing bucket does not hide it.
    Outcome before_bucket = run({"net:v1", "--output", (laptop / "out-bad").string(), "--catalog",
                                 team.conninfo + " password=hunter2-secret", "--objects",
                                 fmt::format("s3://rt-no-such-bucket/team?endpoint={}", rgw.endpoint())});
    CHECK(before_bucket.code == 2);
    CHECK(before_bucket.err == with_password.err);
    CHECK_FALSE(fs::exists(laptop / "out-bad"));
  }

  {  // the password comes from PGPASSWORD: a wrong one is a clear error that does not show it
    AddPasswordRole(pg, team.conninfo, "laptop_user", "right-horse-battery");
    std::string as_user = team.conninfo;
    as_user.replace(as_user.find("user=postgres"), 13, "user=laptop_user");
    auto download = [&](const std::string& password, const fs::path& out) {
      return run({"net:v1", "--output", out.string(), "--catalog", as_user, "--objects", team.url, "--no-progress"},
                 {{"PGPASSWORD", password}});
    };
    Outcome wrong = download("staple-wrong-guess", laptop / "out-wrong");
    CHECK(wrong.code == 1);
    CHECK(wrong.out.empty());
    CHECK(wrong.err.find("password authentication failed for user \"laptop_user\"") != std::string::npos);
    CHECK(wrong.err.find("staple-wrong-guess") == std::string::npos);
    CHECK(wrong.err.find("right-horse-battery") == std::string::npos);
    CHECK_FALSE(fs::exists(laptop / "out-wrong"));
    Outcome right = download("right-horse-battery", laptop / "out-right");
    INFO(right.err);
    CHECK(right.code == 0);
    CHECK(Slurp(laptop / "out-right" / "weights.bin") == weights);
  }

  {  // a damaged chunk in the bucket fails the download and leaves no file
    auto exported = local.Export();
    REQUIRE(exported.ok());
    std::string bad;
    uint64_t bad_size = 0;
    for (const auto& n : *exported)
      for (const auto& v : n.versions)
        if (v.version == 1)
          for (const auto& [hex, size] : v.chunks)
            if (size > 1000 && bad.empty()) {
              bad = hex;
              bad_size = size;
            }
    REQUIRE_FALSE(bad.empty());
    REQUIRE(team.client->PutObject(team.chunks->KeyOf(bad), RandomBytes(bad_size, 83)).ok());
    Outcome damaged = from_team("net:v1", laptop / "out-damaged");
    CHECK(damaged.code == 1);
    CHECK(damaged.out.empty());
    CHECK(damaged.err.find(fmt::format("chunk {0} in the bucket does not match its SHA-256 name", bad)) !=
          std::string::npos);
    // As with a local download: the damaged file is never written (no temporary left either); the
    // file before it in the manifest, complete and verified, stays.
    CHECK(FilesUnder(laptop / "out-damaged") == std::map<std::string, std::string>{{"cfg/config.json", config}});
  }
}

#else

TEST_CASE("artifacts download --catalog needs libpq", "[s3][pg][artifacts][cli]") {
  WARN("SKIPPED: this runicorn was built without libpq (libpq-dev)");
}

#endif
