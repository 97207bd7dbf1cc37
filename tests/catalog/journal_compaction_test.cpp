// Journal compaction of sealed runs (docs/FORMATS.md "Compacted journal"): the journal keeps
// every record but the points, a catalog rebuilt from it answers bit for bit as before, a crash
// at any step is finished by the next pass, journals that may still be needed as written are
// left alone, and segment files nothing refers to are removed.
#include <fstream>

#include <boost/json.hpp>
#include <rocksdb/db.h>

#include "catalog/keys.h"
#include "catalog/sealed_support.h"
#include "journal/journal_compaction.h"
#include "util/files.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

CatalogOptions CompactNow(bool background = false) {
  CatalogOptions o;
  o.seal_finished_runs = background;
  o.journal_compaction_delay = std::chrono::seconds(0);
  return o;
}

std::string Bytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  INFO(p.string() << ": " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

// A finished run with every kind of record: config, tags, points (special values included),
// summary, primary metric, log text, an artifact reference.
std::string WriteRun(const fs::path& root, int points = 5000) {
  auto store = OpenStore(root);
  RunOptions options;
  options.project = "p";
  options.name = "compacted";
  options.tags = {"a", "b"};
  options.config = boost::json::object{{"lr", 0.001}, {"layers", 4}};
  auto run = NewRun(*store, options);
  REQUIRE(run->SetPrimaryMetric("loss", MetricMode::kMin).ok());
  REQUIRE(run->LogText("epoch 0").ok());
  LogMixedRun(*run, points);
  REQUIRE(run->Summary(boost::json::object{{"best", 0.25}}).ok());
  REQUIRE(run->LogText("done").ok());
  REQUIRE(run->RecordArtifact("produced", "model", "model", 1).ok());
  REQUIRE(run->Finish().ok());
  return run->id();
}

struct Frame {
  uint8_t type;
  std::string bytes;  // the whole framed record
};

// The journal's records as framed, by a reading of the format independent of the code under test.
std::vector<Frame> Frames(const std::string& journal) {
  std::vector<Frame> out;
  size_t at = journal::kHeaderSize;
  while (at + 9 <= journal.size()) {
    uint32_t length = journal::GetU32(journal.data() + at);
    REQUIRE(at + 8 + length <= journal.size());
    out.push_back({static_cast<uint8_t>(journal[at + 8]), journal.substr(at, 8 + length)});
    at += 8 + length;
  }
  REQUIRE(at == journal.size());
  return out;
}

// What the catalog shows of the run besides its points (Transcript has those), doubles as bits.
std::string RunFacts(Catalog& catalog, const std::string& id) {
  auto d = catalog.GetRun(id);
  Must(d.status());
  const RunSummary& r = d->run;
  std::string out = fmt::format(
      "{} {} {} {} {} {:x} {:x} {:x} {} {} {} {:x} {} {} {} {} |", r.id, r.project, r.name, RunStatusName(r.status),
      r.exit_reason, Bits(r.created_at), Bits(r.updated_at), Bits(r.ended_at.value_or(-1)), r.hostname,
      r.best_metric_name, r.best_metric_mode, Bits(r.best_metric_value.value_or(-1)), r.best_metric_step.value_or(-1),
      r.artifacts_created_count, r.artifacts_used_count, d->log_bytes);
  for (const auto& t : r.tags) out += t + ",";
  out += boost::json::serialize(d->config) + boost::json::serialize(d->summary);
  for (const auto& s : d->stages) out += s + ",";
  out += fmt::format("{} {} {}", d->journal_corrupt, d->journal_corrupt_offset.value_or(0), d->journal_skipped_bytes);
  auto log = catalog.ReadLog(id);
  Must(log.status());
  return out + *log;
}

uint64_t StoredJournalOffset(const fs::path& root, const std::string& id) {
  rocksdb::DB* raw = nullptr;
  REQUIRE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), StoreLayout(root).catalog_dir().string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string value;
  REQUIRE(db->Get(rocksdb::ReadOptions(), catalog::RunKey(id), &value).ok());
  return boost::json::parse(value).as_object().at("journal_offset").to_number<uint64_t>();
}

// A sealed run, its answers and journal before compaction, with the catalog closed.
struct Sealed {
  TempDir dir;
  std::string id, journal, transcript, facts;
};

void BuildSealed(Sealed* s, int points = 5000) {
  s->id = WriteRun(s->dir.path(), points);
  Index(*OpenCatalogWith(s->dir.path(), SealingOff()));
  {
    // Taken from a reopened catalog: run records reloaded from RocksDB, as in every later check.
    auto catalog = OpenCatalogWith(s->dir.path(), SealingOff());
    s->transcript = Transcript(*catalog, s->id);
    s->facts = RunFacts(*catalog, s->id);
    auto report = catalog->SealFinishedRuns();  // the default delay: sealed, not compacted yet
    REQUIRE(report.ok());
    REQUIRE(report->runs_sealed == 1);
    REQUIRE(report->journals_compacted == 0);
  }
  s->journal = Bytes(StoreLayout(s->dir.path()).journal_path(s->id));
}

SealReport SealNow(const fs::path& root) {
  auto catalog = OpenCatalogWith(root, CompactNow());
  auto report = catalog->SealFinishedRuns();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  INFO(report->last_error);
  REQUIRE(report->runs_failed == 0);
  return *report;
}

}  // namespace

TEST_CASE("a compacted journal keeps every record but the points, after a marker", "[compaction]") {
  Sealed s;
  BuildSealed(&s);
  const SealReport report = SealNow(s.dir.path());
  CHECK(report.runs_sealed == 0);
  CHECK(report.journals_compacted == 1);

  const StoreLayout layout(s.dir.path());
  const std::string compacted = Bytes(layout.journal_path(s.id));
  CHECK(report.journal_bytes_removed == s.journal.size() - compacted.size());
  CHECK_FALSE(fs::exists(layout.compacting_journal_path(s.id)));

  // Expected: the header, the marker, then every non-Points record of the original, byte for byte.
  std::string kept;
  uint64_t points_records = 0;
  for (const Frame& f : Frames(s.journal)) {
    if (f.type == static_cast<uint8_t>(journal::RecordType::kPoints)) ++points_records;
    else kept += f.bytes;
  }
  REQUIRE(points_records > 0);
  const std::vector<Frame> frames = Frames(compacted);
  REQUIRE(!frames.empty());
  REQUIRE(frames[0].type == 9);
  CHECK(compacted.substr(0, journal::kHeaderSize) == s.journal.substr(0, journal::kHeaderSize));
  CHECK(compacted.substr(journal::kHeaderSize + frames[0].bytes.size()) == kept);

  auto marker = journal::DecodeCompactionMarker(std::string_view(frames[0].bytes).substr(9));
  REQUIRE(marker.ok());
  CHECK(marker->original_length == s.journal.size());
  CHECK(marker->compacted_length == compacted.size());
  CHECK(marker->points == 4 * 5000);
  REQUIRE(marker->series.size() == 4);
  for (const journal::CompactedSeries& c : marker->series) {
    CHECK(c.point_count == 5000);
    CHECK(c.segment_size == fs::file_size(layout.segment_path(s.id, c.series_id, 5000)));
    CHECK(c.lod_size == fs::file_size(layout.lod_path(s.id, c.series_id, 5000)));
  }
  // 12 + 9 + 37 + 4 * 32 bytes of header and marker; the points were 20,000 x 32 bytes + framing.
  CHECK(compacted.size() == 12 + 9 + 37 + 4 * 32 + kept.size());
  CHECK(s.journal.size() - compacted.size() == 4 * 5000 * 32 + points_records * 9 - (9 + 37 + 4 * 32));
  CHECK(StoredJournalOffset(s.dir.path(), s.id) == compacted.size());

  // The catalog answers as before, and a second pass has nothing to do.
  auto catalog = OpenCatalogWith(s.dir.path(), CompactNow());
  CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);
  CHECK(RunFacts(*catalog, s.id) == s.facts);
  auto again = catalog->SealFinishedRuns();
  REQUIRE(again.ok());
  CHECK(again->journals_compacted == 0);
  CHECK(Bytes(layout.journal_path(s.id)) == compacted);
}

TEST_CASE("a catalog rebuilt from a compacted journal answers bit for bit as before", "[compaction]") {
  Sealed s;
  BuildSealed(&s);
  REQUIRE(SealNow(s.dir.path()).journals_compacted == 1);
  const StoreLayout layout(s.dir.path());
  const std::vector<std::string> files = SegmentFiles(s.dir.path(), s.id);
  const std::string compacted = Bytes(layout.journal_path(s.id));

  fs::remove_all(layout.catalog_dir());
  {
    IndexReport indexed = Index(*OpenCatalogWith(s.dir.path(), SealingOff()));
    CHECK(indexed.runs_discovered == 1);
    CHECK(indexed.points_ingested == 4 * 5000);  // read back from the segments
    CHECK(indexed.corrupt_journals == 0);
  }
  {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
    CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);  // NaN payloads, +-Inf, -0.0 included
    CHECK(RunFacts(*catalog, s.id) == s.facts);
    // Sealed already: nothing re-encoded, nothing rewritten.
    auto catalog2_report = catalog->SealFinishedRuns();
    REQUIRE(catalog2_report.ok());
    CHECK(catalog2_report->runs_sealed == 0);
    CHECK(catalog2_report->journals_compacted == 0);
  }
  CHECK(SegmentFiles(s.dir.path(), s.id) == files);
  CHECK(Bytes(layout.journal_path(s.id)) == compacted);
  CHECK(StoredJournalOffset(s.dir.path(), s.id) == compacted.size());
  auto reopened = OpenCatalogWith(s.dir.path(), CompactNow(true));
  reopened->WaitForSealing();
  CheckSameAnswers(Transcript(*reopened, s.id), s.transcript);
  CHECK(RunFacts(*reopened, s.id) == s.facts);
}

TEST_CASE("a compacted run whose segment is gone is listed with the loss reported", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 2000);
  REQUIRE(SealNow(s.dir.path()).journals_compacted == 1);
  const StoreLayout layout(s.dir.path());
  auto marker = journal::ReadCompactionMarker(layout.journal_path(s.id));
  REQUIRE(marker.ok());
  REQUIRE(marker->has_value());
  const journal::CompactedSeries lost = (*marker)->series[1];
  fs::remove(layout.segment_path(s.id, lost.series_id, lost.point_count));
  fs::remove_all(layout.catalog_dir());

  auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
  Index(*catalog);
  auto detail = catalog->GetRun(s.id);
  REQUIRE(detail.ok());
  CHECK(detail->run.status == RunStatus::kFinished);
  CHECK(detail->journal_corrupt);
  CHECK(detail->journal_corrupt_offset == journal::kHeaderSize);
  CHECK(detail->journal_skipped_bytes == 2000 * 32);
  uint64_t points = 0;
  for (const MetricInfo& m : detail->metrics) points += m.count;
  CHECK(points == 3 * 2000);  // the other series are whole
}

TEST_CASE("a crash at any step of a compaction is finished by the next pass", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 3000);
  const StoreLayout layout(s.dir.path());
  const fs::path before_catalog = s.dir.path() / "catalog-before";
  fs::copy(layout.catalog_dir(), before_catalog, fs::copy_options::recursive);

  SECTION("killed while the compacted journal was written: it is written again") {
    std::ofstream(layout.compacting_journal_path(s.id)) << "RTJOURN";  // a partial temporary file
    CHECK(Bytes(layout.journal_path(s.id)) == s.journal);
    {
      auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
      CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);  // nothing changed for readers
    }
    CHECK(SealNow(s.dir.path()).journals_compacted == 1);
    CHECK_FALSE(fs::exists(layout.compacting_journal_path(s.id)));
  }
  SECTION("killed after the rename, before the catalog recorded it: the next open records it") {
    REQUIRE(SealNow(s.dir.path()).journals_compacted == 1);
    const uint64_t compacted_size = fs::file_size(layout.journal_path(s.id));
    fs::remove_all(layout.catalog_dir());
    fs::rename(before_catalog, layout.catalog_dir());  // the catalog as it was before the commit
    REQUIRE(StoredJournalOffset(s.dir.path(), s.id) == s.journal.size());
    {
      auto catalog = OpenCatalogWith(s.dir.path(), CompactNow(true));  // the background pass at open
      catalog->WaitForSealing();
      CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);
      CHECK(RunFacts(*catalog, s.id) == s.facts);
    }
    CHECK(StoredJournalOffset(s.dir.path(), s.id) == compacted_size);
  }
  SECTION("killed before anything: the original journal and catalog are complete") {
    CHECK(SealNow(s.dir.path()).journals_compacted == 1);
  }
  // In every case: one compacted journal, the same answers, from this catalog and a rebuilt one.
  auto marker = journal::ReadCompactionMarker(layout.journal_path(s.id));
  REQUIRE(marker.ok());
  REQUIRE(marker->has_value());
  CHECK((*marker)->original_length == s.journal.size());
  CHECK(fs::file_size(layout.journal_path(s.id)) == (*marker)->compacted_length);
  {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());
    CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);
  }
  fs::remove_all(layout.catalog_dir());
  Index(*OpenCatalogWith(s.dir.path(), SealingOff()));
  auto rebuilt = OpenCatalogWith(s.dir.path(), SealingOff());
  CheckSameAnswers(Transcript(*rebuilt, s.id), s.transcript);
  CHECK(RunFacts(*rebuilt, s.id) == s.facts);
}

TEST_CASE("a journal with unshipped bytes is not compacted until the server acknowledged it", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 1000);
  const StoreLayout layout(s.dir.path());
  REQUIRE(util::WriteFileAtomic(layout.shipped_path(s.id), std::to_string(s.journal.size() - 100)).ok());
  CHECK(SealNow(s.dir.path()).journals_compacted == 0);
  CHECK(Bytes(layout.journal_path(s.id)) == s.journal);

  REQUIRE(util::WriteFileAtomic(layout.shipped_path(s.id), std::to_string(s.journal.size())).ok());
  CHECK(SealNow(s.dir.path()).journals_compacted == 1);
  CHECK(fs::file_size(layout.journal_path(s.id)) < s.journal.size() / 10);
}

TEST_CASE("journals that may still be needed as written are not compacted", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 1000);
  const StoreLayout layout(s.dir.path());
  SECTION("written less than journal_compaction_delay ago") {
    auto catalog = OpenCatalogWith(s.dir.path(), SealingOff());  // the default delay, 10 minutes
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->journals_compacted == 0);
  }
  SECTION("compaction turned off") {
    CatalogOptions o = CompactNow();
    o.compact_journals = false;
    auto catalog = OpenCatalogWith(s.dir.path(), o);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->journals_compacted == 0);
  }
  SECTION("still arriving at a receiver") {
    REQUIRE(util::TouchFile(layout.receiving_marker(s.id)).ok());
    CHECK(SealNow(s.dir.path()).journals_compacted == 0);
  }
  SECTION("its writer holds the run lock") {
    auto lock = util::FileLock::Acquire(layout.lock_path(s.id));
    REQUIRE(lock.ok());
    CHECK(SealNow(s.dir.path()).journals_compacted == 0);
  }
  CHECK(Bytes(layout.journal_path(s.id)) == s.journal);
}

TEST_CASE("a run judged crashed (no Status record of its own) is sealed but keeps its journal", "[compaction]") {
  TempDir dir;
  std::string id, cut;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 2000);
    REQUIRE(run->Flush().ok());
    cut = Bytes(StoreLayout(dir.path()).journal_path(id));  // the writer "dies" here
  }
  const fs::path journal = StoreLayout(dir.path()).journal_path(id);
  REQUIRE(util::WriteFileAtomic(journal, cut).ok());
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    Index(*catalog);
    auto detail = catalog->GetRun(id);
    REQUIRE(detail.ok());
    REQUIRE(detail->run.exit_reason == "process_not_found");
  }
  const SealReport report = SealNow(dir.path());
  CHECK(report.runs_sealed == 1);
  CHECK(report.journals_compacted == 0);  // its writer may come back and append at its own offsets
  CHECK(Bytes(journal) == cut);
}

TEST_CASE("segment files no index entry refers to are removed by the sealing pass", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 1000);
  const StoreLayout layout(s.dir.path());
  const std::vector<std::string> files = SegmentFiles(s.dir.path(), s.id);
  REQUIRE(files.size() == 8);
  const fs::path dir = layout.segments_dir(s.id);
  // What a crash between writing files and committing leaves (a sealing of another point count,
  // a temporary file), and a file this catalog did not write, which stays.
  for (const char* name : {"00000000-0000000000000010.seg", "00000000-0000000000000010.lod",
                           "00000063-00000000000003e8.seg", ".tmp-00000001-00000000000003e8.seg-4242-7",
                           "notes.txt", "00000000-0000000000000010.seg.bak"})
    std::ofstream(dir / name) << "x";
  {
    CatalogOptions o = SealingOff();
    auto catalog = OpenCatalogWith(s.dir.path(), o);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    CHECK(report->runs_sealed == 0);
    CheckSameAnswers(Transcript(*catalog, s.id), s.transcript);
  }
  std::vector<std::string> want = files;
  want.push_back("00000000-0000000000000010.seg.bak");
  want.push_back("notes.txt");
  std::sort(want.begin(), want.end());
  CHECK(SegmentFiles(s.dir.path(), s.id) == want);
}

TEST_CASE("a journal whose points differ from its segments is not compacted", "[compaction]") {
  Sealed s;
  BuildSealed(&s, 1000);
  const StoreLayout layout(s.dir.path());
  // One value changed in the journal after sealing, with a valid checksum: the segment no longer
  // holds exactly the journal's points, so dropping them would lose data.
  std::string changed = s.journal.substr(0, journal::kHeaderSize);
  bool done = false;
  for (const Frame& f : Frames(s.journal)) {
    if (done || f.type != static_cast<uint8_t>(journal::RecordType::kPoints)) {
      changed += f.bytes;
      continue;
    }
    std::string payload = f.bytes.substr(9);
    payload[24] ^= 0x01;  // the first point's value, lowest mantissa bit
    journal::AppendRecord(&changed, journal::RecordType::kPoints, payload);
    done = true;
  }
  REQUIRE(done);
  REQUIRE(changed.size() == s.journal.size());
  REQUIRE(util::WriteFileAtomic(layout.journal_path(s.id), changed).ok());

  auto catalog = OpenCatalogWith(s.dir.path(), CompactNow());
  auto report = catalog->SealFinishedRuns();
  REQUIRE(report.ok());
  CHECK(report->journals_compacted == 0);
  CHECK(report->runs_failed == 1);
  CHECK(report->last_error.find("differs between the journal and its segment") != std::string::npos);
  CHECK(Bytes(layout.journal_path(s.id)) == changed);
  CHECK_FALSE(fs::exists(layout.compacting_journal_path(s.id)));
}
