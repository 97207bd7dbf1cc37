// What the catalog makes of a damaged journal: damage is skipped and reported (offset, bytes), a
// damaged finished run keeps its final status, a run with an unreadable header stays listed with
// the reason, and a live writer's torn tail is never mistaken for damage.
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "catalog/catalog_support.h"
#include "journal/journal_format.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

struct FrameAt {
  uint64_t offset;
  uint64_t size;
  journal::RecordType type;
};

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytesAt(const fs::path& path, uint64_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void AppendBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Walks the frames of an undamaged journal.
std::vector<FrameAt> Frames(const fs::path& path) {
  std::string bytes = ReadBytes(path);
  std::vector<FrameAt> frames;
  for (uint64_t at = journal::kHeaderSize; at + journal::kRecordHeaderSize <= bytes.size();) {
    uint32_t length = journal::GetU32(bytes.data() + at);
    frames.push_back({at, 8 + uint64_t{length}, static_cast<journal::RecordType>(bytes[at + 8])});
    at += 8 + length;
  }
  return frames;
}

std::string LengthBytes(uint32_t length) {
  std::string out;
  journal::PutU32(&out, length);
  return out;
}

RunOptions Named(const std::string& id) {
  RunOptions options;
  options.run_id = id;
  options.flush.flush_interval = std::chrono::hours(1);  // only explicit flushes write
  return options;
}

}  // namespace

TEST_CASE("a length corrupted mid-journal: later records are indexed and the damage is reported") {
  TempDir dir;
  const std::string id = "20250101_000000_000d01";
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store, Named(id));
    for (int64_t step = 0; step < 100; ++step) REQUIRE(run->Log(step, "loss", 1.0).ok());
    REQUIRE(run->Flush().ok());
    for (int64_t step = 100; step < 250; ++step) REQUIRE(run->Log(step, "loss", 2.0).ok());
    REQUIRE(run->LogText("after the damage").ok());
    REQUIRE(run->Finish().ok());
  }
  fs::path journal = dir.path() / "runs" / id / "journal";
  std::vector<FrameAt> frames = Frames(journal);
  // The first Points record: steps 0..99.
  auto first_points = std::find_if(frames.begin(), frames.end(),
                                   [](const FrameAt& f) { return f.type == journal::RecordType::kPoints; });
  REQUIRE(first_points != frames.end());
  WriteBytesAt(journal, first_points->offset, LengthBytes(1u << 20));  // plausible, past end of file

  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.corrupt_journals == 1);
  CHECK(report.runs_marked_crashed == 0);
  CHECK(report.runs_failed == 0);
  CHECK(report.points_ingested == 150);
  auto detail = catalog->GetRun(id);
  REQUIRE(detail.ok());
  CHECK(detail->journal_corrupt);
  CHECK(detail->journal_corrupt_offset == first_points->offset);
  CHECK(detail->journal_skipped_bytes == first_points->size);
  // The damaged finished run keeps its final status.
  CHECK(detail->run.status == RunStatus::kFinished);
  CHECK(detail->run.exit_reason.empty());
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 150);
  CHECK(detail->metrics[0].min_step == 100);
  CHECK(*catalog->ReadLog(id) == "after the damage\n");

  // The verdict is stored: a reopened catalog reports the same, and nothing is ingested twice.
  catalog.reset();
  catalog = OpenCatalog(dir.path());
  IndexReport again = Index(*catalog);
  CHECK(again.points_ingested == 0);
  CHECK(again.corrupt_journals == 0);
  detail = catalog->GetRun(id);
  CHECK(detail->journal_corrupt);
  CHECK(detail->journal_corrupt_offset == first_points->offset);
  CHECK(detail->journal_skipped_bytes == first_points->size);
  CHECK(detail->run.status == RunStatus::kFinished);
}

TEST_CASE("a damaged record in a finished run's journal does not make it a crash") {
  TempDir dir;
  const std::string id = "20250101_000000_000d02";
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store, Named(id));
    REQUIRE(run->Summary({{"epochs", 3}}).ok());
    REQUIRE(run->Flush().ok());
    REQUIRE(run->Log(1, "acc", 0.5).ok());
    REQUIRE(run->Finish(RunStatus::kInterrupted).ok());
  }
  fs::path journal = dir.path() / "runs" / id / "journal";
  std::vector<FrameAt> frames = Frames(journal);
  auto summary = std::find_if(frames.begin(), frames.end(),
                              [](const FrameAt& f) { return f.type == journal::RecordType::kSummary; });
  REQUIRE(summary != frames.end());
  WriteBytesAt(journal, summary->offset + journal::kRecordHeaderSize + 2, "#");  // checksum fails

  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.runs_marked_crashed == 0);
  auto detail = catalog->GetRun(id);
  CHECK(detail->run.status == RunStatus::kInterrupted);
  CHECK(detail->run.exit_reason.empty());
  CHECK(detail->summary.empty());
  CHECK(detail->journal_corrupt);
  CHECK(detail->journal_corrupt_offset == summary->offset);
  CHECK(detail->journal_skipped_bytes == summary->size);
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 1);
}

TEST_CASE("a live writer's torn tail is not reported as damage and is read once complete") {
  TempDir dir;
  const std::string id = "20250101_000000_000d03";
  auto store = OpenStore(dir.path());
  auto run = NewRun(*store, Named(id));
  REQUIRE(run->Log(1, "loss", 0.5).ok());
  REQUIRE(run->Flush().ok());
  fs::path journal = dir.path() / "runs" / id / "journal";
  // What the writer's append looks like to a reader halfway through write(2).
  std::string record;
  journal::AppendRecord(&record, journal::RecordType::kText, "written in two halves\n");
  AppendBytes(journal, record.substr(0, 13));

  auto catalog = OpenCatalog(dir.path());
  IndexReport first = Index(*catalog);
  CHECK(first.corrupt_journals == 0);
  CHECK(first.runs_marked_crashed == 0);
  auto detail = catalog->GetRun(id);
  CHECK(detail->run.status == RunStatus::kRunning);
  CHECK_FALSE(detail->journal_corrupt);
  CHECK_FALSE(detail->journal_corrupt_offset.has_value());
  CHECK(detail->journal_skipped_bytes == 0);
  CHECK(*catalog->ReadLog(id) == "");

  AppendBytes(journal, record.substr(13));
  CHECK(Index(*catalog).corrupt_journals == 0);
  CHECK(*catalog->ReadLog(id) == "written in two halves\n");
  REQUIRE(run->Finish().ok());
  Index(*catalog);
  detail = catalog->GetRun(id);
  CHECK(detail->run.status == RunStatus::kFinished);
  CHECK_FALSE(detail->journal_corrupt);
  CHECK(detail->metrics[0].count == 1);
}

TEST_CASE("a run whose journal header is damaged stays listed, failed, with the reason") {
  TempDir dir;
  const std::string bad_magic = "20250101_000000_000d04";
  const std::string newer_format = "20250101_000000_000d05";
  {
    auto store = OpenStore(dir.path());
    for (const auto& id : {bad_magic, newer_format}) {
      auto run = NewRun(*store, Named(id));
      REQUIRE(run->Log(1, "loss", 0.5).ok());
      REQUIRE(run->Finish().ok());
    }
  }
  WriteBytesAt(dir.path() / "runs" / bad_magic / "journal", 0, "XXJOURN");
  WriteBytesAt(dir.path() / "runs" / newer_format / "journal", 8, LengthBytes(2));

  auto catalog = OpenCatalog(dir.path());
  IndexReport report = Index(*catalog);
  CHECK(report.corrupt_journals == 2);
  CHECK(report.runs_discovered == 2);
  CHECK(report.runs_failed == 0);
  auto page = catalog->ListRuns({});
  REQUIRE(page.ok());
  REQUIRE(page->total == 2);
  for (const RunSummary& row : page->runs) {
    CHECK(row.status == RunStatus::kFailed);
    CHECK(row.created_at > 0);  // dated by the journal file
  }
  auto magic = catalog->GetRun(bad_magic);
  REQUIRE(magic.ok());
  CHECK(magic->run.exit_reason == "journal_unreadable: not a runtrack journal (bad magic bytes)");
  CHECK(magic->journal_corrupt);
  CHECK(magic->journal_corrupt_offset == 0);
  auto newer = catalog->GetRun(newer_format);
  REQUIRE(newer.ok());
  CHECK(newer->run.exit_reason == "journal_unreadable: unsupported journal format version 2");

  // Listed for good: a reopened catalog keeps the verdict and does not report it again.
  catalog.reset();
  catalog = OpenCatalog(dir.path());
  CHECK(Index(*catalog).corrupt_journals == 0);
  CHECK(catalog->ListRuns({})->total == 2);
  CHECK(catalog->GetRun(bad_magic)->run.exit_reason ==
        "journal_unreadable: not a runtrack journal (bad magic bytes)");
}
