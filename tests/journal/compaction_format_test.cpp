// The Compacted record's payload (docs/FORMATS.md "Compacted journal") round-trips, refuses what
// it cannot read, and is found only as the first record of a journal.
#include <catch2/catch.hpp>

#include <limits>

#include "journal/journal_compaction.h"
#include "test_support.h"
#include "util/files.h"

using namespace runtrack;
using namespace runtrack::journal;

namespace {

CompactionMarker SampleMarker() {
  CompactionMarker m;
  m.original_length = 1234567;
  m.compacted_length = 4321;
  m.points_updated_at = 1796281920.8608613;
  m.series = {{0, 10, 900, 0xDEADBEEF, 300}, {7, 5, 400, 0x01020304, 0}};
  m.points = 15;
  return m;
}

}  // namespace

TEST_CASE("a compaction marker round-trips, its size fixed by the series count", "[journal][compaction]") {
  const CompactionMarker m = SampleMarker();
  const std::string bytes = EncodeCompactionMarker(m);
  CHECK(bytes.size() == 37 + 2 * 32);
  auto back = DecodeCompactionMarker(bytes);
  REQUIRE(back.ok());
  CHECK(*back == m);

  CompactionMarker none;
  none.points_updated_at = -std::numeric_limits<double>::infinity();
  auto empty = DecodeCompactionMarker(EncodeCompactionMarker(none));
  REQUIRE(empty.ok());
  CHECK(empty->series.empty());
  CHECK(empty->points_updated_at == -std::numeric_limits<double>::infinity());
}

TEST_CASE("a compaction marker of another version, length or point total is Corruption", "[journal][compaction]") {
  std::string bytes = EncodeCompactionMarker(SampleMarker());
  std::string other_version = bytes;
  other_version[0] = 2;
  auto v = DecodeCompactionMarker(other_version);
  CHECK(v.status().code() == StatusCode::kCorruption);
  CHECK(v.status().message() == "compaction record of 101 bytes, version 2: this build reads version 1");
  auto cut = DecodeCompactionMarker(std::string_view(bytes).substr(0, bytes.size() - 1));
  CHECK(cut.status().code() == StatusCode::kCorruption);
  CHECK(cut.status().message() == "compaction record of 100 bytes does not hold 2 series");
  CompactionMarker wrong = SampleMarker();
  wrong.points = 16;
  auto total = DecodeCompactionMarker(EncodeCompactionMarker(wrong));
  CHECK(total.status().message() == "compaction record lists 15 points in its series but 16 in all");
}

TEST_CASE("only a journal whose first record is a Compacted record reads as compacted", "[journal][compaction]") {
  testing::TempDir dir;
  const auto path = dir.path() / "journal";
  std::string journal = EncodeHeader();
  AppendRecord(&journal, kCompactedRecord, EncodeCompactionMarker(SampleMarker()));
  AppendRecord(&journal, RecordType::kText, "hello\n");
  REQUIRE(util::WriteFileAtomic(path, journal).ok());
  auto found = ReadCompactionMarker(path);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK(**found == SampleMarker());
  CHECK(BeginsWithCompactionMarker(journal, 0));
  CHECK(BeginsWithCompactionMarker(std::string_view(journal).substr(5), 5));
  CHECK_FALSE(BeginsWithCompactionMarker(std::string_view(journal).substr(12), 12 + 1));

  // The marker anywhere else, or damaged, is not a marker.
  std::string later = EncodeHeader();
  AppendRecord(&later, RecordType::kText, "hello\n");
  AppendRecord(&later, kCompactedRecord, EncodeCompactionMarker(SampleMarker()));
  REQUIRE(util::WriteFileAtomic(path, later).ok());
  found = ReadCompactionMarker(path);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());
  CHECK_FALSE(BeginsWithCompactionMarker(later, 0));
  std::string damaged = journal;
  damaged[40] ^= 0x10;
  REQUIRE(util::WriteFileAtomic(path, damaged).ok());
  found = ReadCompactionMarker(path);
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());

  auto missing = ReadCompactionMarker(dir.path() / "nothing");
  CHECK(missing.status().code() == StatusCode::kNotFound);
}
