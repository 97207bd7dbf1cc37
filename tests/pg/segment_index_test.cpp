// The segment index table on its own (migration 4, PgSegmentIndex): a run's rows replaced in one
// transaction, re-sealed series replacing their rows, idempotent writes, the run's status joined,
// hostile metric names kept as data, and rows that do not parse refused.
#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_support.h"
#include "service/pg/pg_connection.h"
#include "service/pg/pg_segment_index.h"

using namespace runicorn::testing;
using runicorn::service::pg::PgConnection;
using runicorn::service::pg::PgSegmentIndex;
using runicorn::service::s3::IndexedSegment;
using runtrack::RunStatus;
using runtrack::StatusCode;

namespace {

IndexedSegment Row(const std::string& run_id, uint32_t series, const std::string& metric, uint64_t count,
                   uint32_t crc) {
  IndexedSegment row;
  row.info.ref.run_id = run_id;
  row.info.ref.series = series;
  row.info.ref.point_count = count;
  row.info.ref.footer_crc32c = crc;
  row.info.ref.segment_size = 5 * count + 100;
  row.info.ref.lod_size = series == 2 ? 0 : 700;
  row.info.metric = metric;
  row.info.first_step = -3;
  row.info.last_step = static_cast<int64_t>(count) - 4;
  row.segment_key = fmt::format("team/segments/{}/{:08x}.seg", run_id, series);
  if (row.info.ref.lod_size != 0) row.lod_key = fmt::format("team/segments/{}/{:08x}.lod", run_id, series);
  return row;
}

}  // namespace

TEST_CASE("pg: the segment index replaces a run's rows in one write and reads them back exactly", "[pg][segment_index]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  auto pg = OpenPgCatalog(conninfo);
  auto opened = PgSegmentIndex::Open(conninfo);
  REQUIRE(opened.ok());
  PgSegmentIndex& index = **opened;
  runtrack::RunSummary run = SyntheticRun(1);
  REQUIRE(pg->UpsertRun(run, {}, {}).ok());

  // A run the catalog knows with nothing sealed; a run it does not know.
  auto empty = index.ReadRun(run.id);
  REQUIRE(empty.ok());
  CHECK(empty->status == run.status);
  CHECK(empty->series.empty());
  const std::string unknown = "20261203_101010_abcdef";  // well-formed, never created
  CHECK(index.ReadRun(unknown).status().code() == StatusCode::kNotFound);
  CHECK(index.ReadRun(unknown).status().message() == fmt::format("run {} not found", unknown));
  CHECK(index.ReadRun("../etc").status().code() == StatusCode::kInvalidArgument);

  const std::string hostile = "loss'); DROP TABLE segments; --\n\"x\"";
  std::vector<IndexedSegment> first = {Row(run.id, 1, hostile, 5000, 0xdeadbeef),
                                       Row(run.id, 2, "acc", 500, 7),
                                       Row(run.id, (1u << 20) + 1, "loss", 4000, 0xffffffff)};
  REQUIRE(index.ReplaceRun(run.id, first).ok());
  REQUIRE(index.ReplaceRun(run.id, first).ok());  // idempotent
  auto read = index.ReadRun(run.id);
  REQUIRE(read.ok());
  CHECK(read->series == first);

  // Re-sealed: series 1 grew (new count and CRC, new keys), series 2 is gone, one is new.
  std::vector<IndexedSegment> second = {Row(run.id, 1, hostile, 8000, 12), Row(run.id, 3, "lr", 8000, 13),
                                        Row(run.id, (1u << 20) + 1, "loss", 4000, 0xffffffff)};
  REQUIRE(index.ReplaceRun(run.id, second).ok());
  read = index.ReadRun(run.id);
  REQUIRE(read.ok());
  CHECK(read->series == second);
  {
    auto conn = PgConnection::Connect(conninfo);
    REQUIRE(conn.ok());
    auto streams = (*conn)->Exec("SELECT string_agg(series || '/' || stream, ',' ORDER BY series) FROM segments");
    REQUIRE(streams.ok());
    CHECK(streams->Get(0, 0) == "1/0,3/0,1048577/1");
  }
  // A run's rows all go with an empty list (the run left the sealing store).
  REQUIRE(index.ReplaceRun(run.id, {}).ok());
  CHECK(index.ReadRun(run.id)->series.empty());

  // Rows of another run are refused before anything is written.
  auto mixed = index.ReplaceRun(run.id, {Row(std::string(22, 'a'), 1, "x", 10, 1)});
  CHECK(mixed.code() == StatusCode::kInvalidArgument);
  CHECK(index.ReadRun(run.id)->series.empty());
}

TEST_CASE("pg: the segment index joins the run's status and refuses what PostgreSQL is not", "[pg][segment_index]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  auto pg = OpenPgCatalog(conninfo);
  auto opened = PgSegmentIndex::Open(conninfo);
  REQUIRE(opened.ok());
  runtrack::RunSummary live = SyntheticRun(2);
  live.status = RunStatus::kRunning;
  live.ended_at.reset();
  REQUIRE(pg->UpsertRun(live, {}, {}).ok());
  REQUIRE((*opened)->ReplaceRun(live.id, {Row(live.id, 1, "loss", 100, 1)}).ok());
  auto read = (*opened)->ReadRun(live.id);
  REQUIRE(read.ok());
  CHECK(read->status == RunStatus::kRunning);
  CHECK(read->series.size() == 1);

  // The table's checks hold whatever a writer sends (a CRC is 32 bits).
  auto conn = PgConnection::Connect(conninfo);
  REQUIRE(conn.ok());
  CHECK_FALSE((*conn)->Exec("UPDATE segments SET footer_crc32c = 4294967296").ok());
  CHECK_FALSE((*conn)->Exec("UPDATE segments SET lod_key = NULL").ok());  // lod_size says there is one

  auto unreachable = PgSegmentIndex::Open("host=/nonexistent-dir port=1 user=postgres dbname=x");
  CHECK(unreachable.status().code() == StatusCode::kIOError);
}

#endif  // RUNICORN_HAVE_PG
