// The PostgreSQL catalog on its own: run lifecycle, hostile strings, bulk COPY, schema
// migrations and connection errors.
#ifdef RUNICORN_HAVE_PG
#include <atomic>
#include <thread>

#include <boost/json/parse.hpp>

#include "pg/pg_test_support.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_schema.h"

using namespace runicorn::testing;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgRunCatalog;
using runtrack::RunQuery;
using runtrack::RunStatus;
using runtrack::StatusCode;

namespace {

std::unique_ptr<PgConnection> Connect(const std::string& conninfo) {
  auto conn = PgConnection::Connect(conninfo);
  INFO(conn.status().ToString());
  REQUIRE(conn.ok());
  return std::move(conn).value();
}

std::string One(PgConnection& conn, const std::string& sql) {
  auto r = conn.Exec(sql);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  REQUIRE(r->rows() == 1);
  return std::string(r->Get(0, 0));
}

}  // namespace

TEST_CASE("pg: soft delete keeps the first time, restore needs a deleted run, permanent delete spares running runs",
          "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  runtrack::RunSummary done = SyntheticRun(1);
  runtrack::RunSummary live = SyntheticRun(2);
  live.status = RunStatus::kRunning;
  live.ended_at.reset();
  REQUIRE(pg->UpsertRun(done, {}, {}).ok());
  REQUIRE(pg->UpsertRun(live, {}, {}).ok());

  REQUIRE(pg->SoftDelete(done.id).ok());
  double first = *pg->GetRun(done.id)->run.deleted_at;
  REQUIRE(pg->SoftDelete(done.id).ok());  // already in the bin: no-op
  CHECK(*pg->GetRun(done.id)->run.deleted_at == first);
  REQUIRE(pg->Restore(done.id).ok());
  CHECK(pg->Restore(done.id).code() == StatusCode::kFailedPrecondition);

  auto refused = pg->PermanentDelete(live.id);
  CHECK(refused.code() == StatusCode::kFailedPrecondition);
  CHECK(refused.message() == fmt::format("run {} is still running", live.id));
  CHECK(pg->GetRun(live.id).ok());  // still there

  REQUIRE(pg->PermanentDelete(done.id).ok());
  auto gone = pg->GetRun(done.id);
  CHECK(gone.status().code() == StatusCode::kNotFound);
  CHECK(gone.status().message() == fmt::format("run {} not found", done.id));
  CHECK(pg->PermanentDelete(done.id).code() == StatusCode::kNotFound);
  CHECK(pg->SoftDelete(done.id).code() == StatusCode::kNotFound);
  CHECK(pg->Restore(done.id).code() == StatusCode::kNotFound);

  for (const char* bad : {"../../etc", "20250101_000000_ABCDEF", "x' OR '1'='1"}) {
    CHECK(pg->GetRun(bad).status().code() == StatusCode::kInvalidArgument);
    CHECK(pg->SoftDelete(bad).code() == StatusCode::kInvalidArgument);
    CHECK(pg->PermanentDelete(bad).code() == StatusCode::kInvalidArgument);
  }
  runtrack::RunSummary bad_id = SyntheticRun(3);
  bad_id.id = "../escape";
  CHECK(pg->UpsertRun(bad_id, {}, {}).code() == StatusCode::kInvalidArgument);
  CHECK(pg->ListRuns({})->total == 1);
}

TEST_CASE("pg: logs and run files are not in the PostgreSQL catalog yet", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  REQUIRE(pg->UpsertRun(SyntheticRun(1), {}, {}).ok());
  auto log = pg->ReadLog(PgRunId(1), 0);
  CHECK(log.status().code() == StatusCode::kFailedPrecondition);
  CHECK(log.status().message() == "run logs are not stored in the PostgreSQL catalog yet");
  CHECK(pg->CountRunFiles(PgRunId(1)).status().code() == StatusCode::kFailedPrecondition);
  CHECK(pg->ReadLog(PgRunId(9), 0).status().code() == StatusCode::kNotFound);
}

TEST_CASE("pg: SQL in search, project, name and tags is a plain string", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  const std::string evil_project = "a'; DROP TABLE runs; --";
  const std::vector<std::string> evil_tags = {"x\",\"y", "{}", "NULL", "back\\slash", "50%_off"};
  runtrack::RunSummary evil = SyntheticRun(1, evil_project, "n\" OR 1=1 --");
  evil.tags = evil_tags;
  runtrack::RunSummary plain = SyntheticRun(2, "a", "n");
  plain.tags = {"x", "y"};
  REQUIRE(pg->UpsertRun(evil, {}, {}).ok());
  REQUIRE(pg->UpsertRun(plain, {}, {}).ok());

  CHECK(pg->GetRun(evil.id)->run.tags == evil_tags);  // quotes, commas, braces survive
  CHECK(pg->GetRun(evil.id)->run.project == evil_project);

  auto ids = [&](const RunQuery& q) {
    auto page = pg->ListRuns(q);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    return Ids(*page);
  };
  RunQuery q;
  q.project = evil_project;
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q = {};
  q.project = "a' OR '1'='1";
  CHECK(ids(q).empty());
  q = {};
  q.search = "' OR 1=1 --";
  CHECK(ids(q).empty());
  q.search = "drop table";  // case-insensitive, and only a substring of the evil project
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q.search = "%";  // LIKE's wildcards are data: only the run with a '%' in a tag
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q.search = "5_%";  // as wildcards this would match "50%_off"; as text it is nowhere
  CHECK(ids(q).empty());
  q.search = "%_o";
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q.search = "k\\s";
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q = {};
  q.tags = {"x", "y"};  // not the evil run's single tag "x","y"
  CHECK(ids(q) == std::vector<std::string>{plain.id});
  q.tags = {"x\",\"y"};
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q.tags = {"NULL"};
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  q = {};
  q.name = "n\" OR 1=1 --";
  CHECK(ids(q) == std::vector<std::string>{evil.id});
  CHECK(pg->ListRuns({})->total == 2);  // the table is still there
}

TEST_CASE("pg: COPY loads many runs all or nothing", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  std::vector<runtrack::RunSummary> runs;
  for (int i = 0; i < 5000; ++i) {
    runs.push_back(SyntheticRun(i, fmt::format("p{}", i % 10), "tab\there\nnewline\\"));
    runs.back().tags = {"t" + std::to_string(i % 3)};
    if (i % 2) runs.back().best_metric_value = i * 0.001;
  }
  REQUIRE(pg->CopyRuns(runs).ok());
  RunQuery q;
  q.project = "p3";
  q.tags = {"t0"};
  q.sort_by = "best_metric_value";
  q.limit = 3;
  auto page = pg->ListRuns(q);
  REQUIRE(page.ok());
  CHECK(page->total == 167);  // i % 10 == 3 and i % 3 == 0: i = 3, 33, 63, ..., 4983 (all odd)
  CHECK(Ids(*page) == std::vector<std::string>{PgRunId(4983), PgRunId(4953), PgRunId(4923)});
  CHECK(page->runs[0].name == "tab\there\nnewline\\");

  // One id already stored: the whole second COPY is refused and nothing of it stays.
  std::vector<runtrack::RunSummary> more = {SyntheticRun(9001), SyntheticRun(42)};
  auto dup = pg->CopyRuns(more);
  CHECK(dup.code() == StatusCode::kAlreadyExists);
  CHECK(pg->GetRun(PgRunId(9001)).status().code() == StatusCode::kNotFound);
  CHECK(pg->ListRuns({})->total == 5000);
}

TEST_CASE("pg: opening twice migrates once, a newer schema is refused", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto first = OpenPgCatalog(db);
  REQUIRE(first->UpsertRun(SyntheticRun(1), {}, {}).ok());
  auto second = OpenPgCatalog(db);  // nothing re-created, nothing lost
  CHECK(second->ListRuns({})->total == 1);
  auto conn = Connect(db);
  // One row per migration (versions 1..N), none applied twice.
  CHECK(One(*conn, "SELECT count(*) FROM schema_migrations") ==
        std::to_string(runicorn::service::pg::LatestSchemaVersion()));
  CHECK(One(*conn, "SELECT max(version) FROM schema_migrations") ==
        std::to_string(runicorn::service::pg::LatestSchemaVersion()));
  auto again = runicorn::service::pg::MigrateSchema(*conn);
  REQUIRE(again.ok());
  CHECK(*again == runicorn::service::pg::LatestSchemaVersion());

  REQUIRE(conn->Exec("INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')").ok());
  auto refused = PgRunCatalog::Open(db);
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message() ==
        fmt::format("the PostgreSQL catalog has schema version 99, newer than this runicorn knows ({}); "
                    "upgrade runicorn",
                    runicorn::service::pg::LatestSchemaVersion()));
}

TEST_CASE("pg: an unreachable server and bad SQL are errors, not crashes", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto nowhere = PgRunCatalog::Open(fmt::format("host={}/missing port=5432 user=postgres dbname=x",
                                                server.dir().string()));
  CHECK(nowhere.status().code() == StatusCode::kIOError);
  CHECK(nowhere.status().message().starts_with("postgresql: cannot connect: "));

  auto conn = Connect(server.NewDatabase());
  auto syntax = conn->Exec("SELEC 1");
  CHECK(syntax.status().code() == StatusCode::kInternal);
  CHECK(syntax.status().message().find("SQLSTATE 42601") != std::string::npos);
  auto bad_value = conn->Exec("SELECT $1::integer", {std::string("twelve")});
  CHECK(bad_value.status().code() == StatusCode::kInvalidArgument);
  CHECK(One(*conn, "SELECT 1") == "1");  // the connection is still usable
}

TEST_CASE("pg: many threads list and update at once", "[pg]") {
  RUNICORN_PG_TEST_SERVER(server);
  auto pg = OpenPgCatalog(server.NewDatabase());
  for (int i = 0; i < 20; ++i) REQUIRE(pg->UpsertRun(SyntheticRun(i), {}, {}).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (!pg->ListRuns({}).ok()) ++failures;
        const std::string id = PgRunId((t * 20 + i) % 20);
        if (!pg->SoftDelete(id).ok()) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  RunQuery bin;
  bin.deleted_only = true;
  CHECK(pg->ListRuns(bin)->total == 20);
}
#endif
