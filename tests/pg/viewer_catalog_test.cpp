// `runicorn viewer --catalog postgresql://…` (docs/SCALE-OUT.md "Viewer on PostgreSQL"): the
// --catalog value check, the mirror of the local store into PostgreSQL, runs of another replica,
// and what happens when PostgreSQL is down at start or stops mid-run.
#ifdef RUNICORN_HAVE_PG
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "pg/pg_test_support.h"
#include "server_fixture.h"
#include "service/pg/pg_viewer_catalog.h"

using namespace runicorn::testing;
using runicorn::service::pg::CheckCatalogConninfo;
using runicorn::service::pg::PgViewerCatalog;
using runtrack::StatusCode;
namespace bj = boost::json;

namespace {

PgViewerCatalog& ViewerCatalog(TestServer& srv) {
  auto* catalog = dynamic_cast<PgViewerCatalog*>(srv.ctx().run_catalog.get());
  REQUIRE(catalog != nullptr);
  return *catalog;
}

std::vector<std::string> ListedIds(HttpClient& c, const std::string& target = "/api/runs") {
  auto r = c.Get(target);
  INFO(r.body);
  REQUIRE(r.status == 200);
  std::vector<std::string> ids;
  const bj::value list = r.json();
  for (const auto& item : list.as_array()) ids.emplace_back(item.as_object().at("id").as_string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> Sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string RenderWithPath(const runtrack::RunSummary& r) {
  return Render(r) + "|" + r.path.value_or("-") + "|" + r.alias;
}

std::string SoftDeleteBody(const std::string& id) {
  return bj::serialize(bj::object{{"run_ids", bj::array{bj::value(id)}}});
}

// Runs `runicorn viewer ARGS` (at most 20 s) and returns its exit code and stderr.
std::pair<int, std::string> RunViewer(const std::filesystem::path& dir, const std::string& args) {
  const auto err = dir / "viewer.err";
  std::string cmd = fmt::format("timeout 20 {} viewer --storage {} --port 0 {} >/dev/null 2>{}", RUNICORN_BINARY,
                                (dir / "store").string(), args, err.string());
  int rc = std::system(cmd.c_str());
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, text.str()};
}

pid_t PostmasterPid(const PgTestServer& pg) {
  std::ifstream f(pg.dir() / "data" / "postmaster.pid");
  pid_t pid = 0;
  f >> pid;
  return pid;
}

// PostgreSQL's fast shutdown (SIGINT) of the postmaster with this PID, waited for.
void StopPostmaster(pid_t pid) {
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGINT) == 0);
  for (int i = 0; i < 1500 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(::kill(pid, 0) != 0);
}

// Starts the stopped server of `pg` again on its data folder and socket (as its owner when root).
void RestartPostmaster(const PgTestServer& pg) {
  const std::string d = pg.dir().string();
  std::string as_user;
  if (::geteuid() == 0) {
    struct stat st {};
    REQUIRE(::stat(d.c_str(), &st) == 0);
    const passwd* pw = ::getpwuid(st.st_uid);
    REQUIRE(pw != nullptr);
    as_user = fmt::format("runuser -u {} -- ", pw->pw_name);
  }
  std::string start = fmt::format(
      "{}{}/pg_ctl -D {}/data -l {}/server2.log -w -t 60 -o \"-k {} -p {} -c listen_addresses='' -c fsync=off\""
      " start >{}/pg_ctl2.log 2>&1",
      as_user, PgTestServer::kBinDir, d, d, d, PgTestServer::kPort, d);
  REQUIRE(std::system(start.c_str()) == 0);
}

}  // namespace

TEST_CASE("pg viewer: a --catalog value with a password is refused without echoing it", "[pg][viewer]") {
  const std::string refused =
      "--catalog: the connection string contains a password, which every user of this machine can read "
      "(ps, /proc); remove it and put the password in PGPASSWORD, ~/.pgpass or the file PGPASSFILE names";
  for (const char* value : {"postgresql://alice:s3cret@db.example/runs", "postgres://alice:s3cret@db/runs",
                            "postgresql://db.example/runs?password=s3cret", "host=db dbname=runs password=s3cret"}) {
    INFO(value);
    auto s = CheckCatalogConninfo(value);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message() == refused);
  }
  for (const char* value : {"", "db.example", "runs"}) {
    INFO(value);
    auto s = CheckCatalogConninfo(value);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(s.message() ==
          "--catalog: expected a postgresql://[USER@]HOST[:PORT]/DATABASE URL or a libpq \"key=value\" string");
  }
  auto bad = CheckCatalogConninfo("host=db nosuchkey=1");
  CHECK(bad.code() == StatusCode::kInvalidArgument);
  CHECK(bad.message() == "--catalog: invalid connection option \"nosuchkey\"");
  for (const char* value : {"postgresql://alice@db.example:5433/runs", "postgresql:///runs?host=/run/pg",
                            "host=/run/postgresql dbname=runs user=alice", "postgresql://alice:@db/runs"}) {
    INFO(value);
    CHECK(CheckCatalogConninfo(value).ok());
  }
}

TEST_CASE("pg viewer: runicorn viewer --catalog stops at start on a password (2) or an unreachable server (1)",
          "[pg][viewer]") {
  runtrack::testing::TempDir dir;
  auto [code, err] = RunViewer(dir.path(), "--catalog postgresql://alice:s3cret@127.0.0.1/runs");
  CHECK(code == 2);
  CHECK(err.rfind("runicorn viewer: cannot use the PostgreSQL catalog: --catalog: the connection string contains "
                  "a password",
                  0) == 0);
  CHECK(err.find("s3cret") == std::string::npos);

  const std::string nowhere = (dir.path() / "no-server").string();
  std::tie(code, err) = RunViewer(dir.path(), fmt::format("--catalog 'host={} dbname=runs user=postgres'", nowhere));
  CHECK(code == 1);
  INFO(err);
  CHECK(err.rfind("runicorn viewer: cannot use the PostgreSQL catalog: postgresql: cannot connect: connection to "
                  "server on socket \"" + nowhere + "/.s.PGSQL.5432\" failed: No such file or directory",
                  0) == 0);
}

TEST_CASE("pg viewer: the local store's runs are mirrored (changed runs only) and other replicas' runs kept",
          "[pg][viewer]") {
  RUNICORN_PG_TEST_SERVER(pg);
  ServerConfig cfg;
  cfg.pg_catalog = pg.NewDatabase();
  REQUIRE_FALSE(cfg.pg_catalog.empty());
  TestServer srv(cfg);
  const std::string a = MakeRun(srv.store(), "p", "a", 12, {"x", "y"});
  const std::string b = MakeRun(srv.store(), "p", "b", 3, {}, 1.0, runtrack::RunStatus::kFailed);
  runtrack::RunOptions o;
  o.project = "cv";
  o.name = "vit";
  o.path = "cv/vision/vit";
  o.alias = "best-vit";
  auto run = srv.store().CreateRun(o);
  REQUIRE(run.ok());
  const std::string v = (*run)->id();
  REQUIRE((*run)->Finish(runtrack::RunStatus::kFinished).ok());
  srv.Sync();

  // PostgreSQL holds exactly the local index, field by field (path and alias included).
  auto remote = OpenPgCatalog(cfg.pg_catalog);
  runtrack::RunQuery all;
  all.include_deleted = true;
  auto local_page = srv.ctx().storage->ListRuns(all);
  auto remote_page = remote->ListRuns(all);
  REQUIRE(local_page.ok());
  REQUIRE(remote_page.ok());
  REQUIRE(remote_page->runs.size() == 3);
  for (size_t i = 0; i < 3; ++i)
    CHECK(RenderWithPath(remote_page->runs[i]) == RenderWithPath(local_page->runs[i]));
  CHECK(remote_page->runs[0].path == std::optional<std::string>("cv/vision/vit"));

  // Nothing changed: the next pass writes nothing.
  PgViewerCatalog& viewer = ViewerCatalog(srv);
  REQUIRE(viewer.mirror().Pass(true).ok());
  CHECK(viewer.mirror().last_pass().upserted == 0);
  CHECK(viewer.mirror().last_pass().removed == 0);

  // Another replica's run: listed and shown from PostgreSQL, never removed by this mirror, its
  // log not here; its lifecycle goes to PostgreSQL only.
  runtrack::RunSummary other = SyntheticRun(7, "p", "elsewhere");
  REQUIRE(remote->UpsertRun(other, bj::object{{"lr", 1}}, bj::object{}).ok());
  HttpClient c(srv.port());
  std::vector<std::string> want = {a, b, v, other.id};
  std::sort(want.begin(), want.end());
  CHECK(ListedIds(c) == want);
  auto detail = c.Get("/api/runs/" + other.id);
  REQUIRE(detail.status == 200);
  CHECK(detail.json().as_object().at("name") == "elsewhere");
  REQUIRE(viewer.mirror().Pass(true).ok());
  CHECK(ListedIds(c).size() == 4);
  auto log = viewer.ReadLog(other.id, 0);
  CHECK(log.status().code() == StatusCode::kFailedPrecondition);
  CHECK(log.status().message() ==
        "run " + other.id + " is held by another replica; its log is on that replica's disk");
  CHECK(viewer.ReadLog("20200101_000000_abcdef", 0).status().code() == StatusCode::kNotFound);
  REQUIRE(c.Post("/api/runs/soft-delete", SoftDeleteBody(other.id)).status == 200);
  CHECK(remote->GetRun(other.id)->run.deleted_at.has_value());

  // A local run: deleted locally and in PostgreSQL with the same time; restored; purged from both.
  REQUIRE(c.Post("/api/runs/soft-delete", SoftDeleteBody(a)).status == 200);
  auto local_a = srv.ctx().storage->GetRun(a);
  REQUIRE(local_a.ok());
  REQUIRE(local_a->run.deleted_at.has_value());
  CHECK(remote->GetRun(a)->run.deleted_at == local_a->run.deleted_at);
  CHECK(ListedIds(c) == Sorted({b, v}));
  REQUIRE(c.Post("/api/recycle-bin/restore", SoftDeleteBody(a)).status == 200);
  CHECK_FALSE(remote->GetRun(a)->run.deleted_at.has_value());
  REQUIRE(c.Post("/api/runs/soft-delete", SoftDeleteBody(b)).status == 200);
  auto empty = c.Post("/api/recycle-bin/empty", R"({"confirm": true})");
  REQUIRE(empty.status == 200);
  CHECK(empty.json().as_object().at("permanently_deleted").as_int64() == 2);  // b here, `other` in PostgreSQL
  CHECK(remote->GetRun(b).status().code() == StatusCode::kNotFound);
  CHECK(remote->GetRun(other.id).status().code() == StatusCode::kNotFound);
  CHECK(srv.ctx().storage->GetRun(b).status().code() == StatusCode::kNotFound);
  CHECK(ListedIds(c) == Sorted({a, v}));
}

TEST_CASE("pg viewer: PostgreSQL stopped mid-run answers 503, keeps local data, and the mirror catches up",
          "[pg][viewer]") {
  PgTestServer pg;  // its own server: this case stops it
  RUNICORN_PG_REQUIRE_AVAILABLE(pg);
  ServerConfig cfg;
  cfg.pg_catalog = pg.NewDatabase();
  REQUIRE_FALSE(cfg.pg_catalog.empty());
  TestServer srv(cfg);
  const std::string a = MakeRun(srv.store(), "p", "a", 5);
  srv.Sync();
  HttpClient c(srv.port());
  CHECK(ListedIds(c) == std::vector<std::string>{a});

  StopPostmaster(PostmasterPid(pg));
  auto down = c.Get("/api/runs");
  INFO(down.body);
  CHECK(down.status == 503);
  CHECK(down.detail().rfind("the run catalog (PostgreSQL) is unavailable, retry later: postgresql:", 0) == 0);
  CHECK(c.Get("/api/runs/" + a).status == 503);

  // Writers keep writing and the local index keeps ingesting; the mirror's pass fails.
  const std::string b = MakeRun(srv.store(), "p", "b", 5);
  REQUIRE(srv.ctx().storage->catalog().Refresh().ok());
  auto mirrored = srv.ctx().after_index_pass(true);
  CHECK(mirrored.code() == StatusCode::kIOError);
  CHECK(mirrored.message().rfind("postgresql:", 0) == 0);
  CHECK(srv.ctx().storage->GetRun(b).ok());
  // A delete of a local run is made locally; the answer says PostgreSQL is behind.
  auto del = c.Post("/api/runs/soft-delete", SoftDeleteBody(a));
  CHECK(del.status == 503);
  CHECK(del.detail().rfind("run " + a + " was changed in this replica's store, but the run catalog (PostgreSQL) "
                           "could not be updated (postgresql:",
                           0) == 0);
  CHECK(srv.ctx().storage->GetRun(a)->run.deleted_at.has_value());

  // PostgreSQL back: the next pass (even one that ingested nothing) writes what was pending.
  RestartPostmaster(pg);
  const pid_t restarted = PostmasterPid(pg);
  // The pool's idle connections died with the old server: they are dropped and replaced.
  runtrack::Status caught_up = srv.ctx().after_index_pass(false);
  INFO(caught_up.ToString());
  CHECK(caught_up.ok());
  CHECK(ListedIds(c) == std::vector<std::string>{b});
  auto bin = c.Get("/api/recycle-bin").json().as_object().at("deleted_runs").as_array();
  REQUIRE(bin.size() == 1);
  CHECK(bin[0].as_object().at("id").as_string() == a);
  StopPostmaster(restarted);
}
#endif
