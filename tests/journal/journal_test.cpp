#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "journal/journal_reader.h"
#include "journal/journal_writer.h"
#include "test_support.h"
#include "util/crc32c.h"

using namespace runtrack;
using namespace runtrack::journal;
namespace fs = std::filesystem;

namespace {

struct Seen {
  RecordType type;
  std::string payload;
};

std::vector<Seen> ReadAll(const fs::path& path, ReadOutcome* outcome = nullptr, uint64_t offset = 0) {
  std::vector<Seen> seen;
  auto r = ReadJournal(path, offset, [&](RecordType t, std::string_view p) {
    seen.push_back({t, std::string(p)});
    return Status::Ok();
  });
  REQUIRE(r.ok());
  if (outcome) *outcome = *r;
  return seen;
}

fs::path WriteJournal(const fs::path& dir, const std::vector<Seen>& records) {
  fs::path path = dir / "journal";
  auto writer = JournalWriter::Create(path, {});
  REQUIRE(writer.ok());
  (*writer)->Append([&](PendingRecords& out) {
    for (const auto& r : records) out.Add(r.type, r.payload);
  });
  REQUIRE((*writer)->Close().ok());
  return path;
}

}  // namespace

TEST_CASE("crc32c matches the published check value") {
  CHECK(util::Crc32c("123456789") == 0xE3069283u);
  CHECK(util::Crc32c("") == 0u);
  std::string long_text(1000, 'x');
  uint32_t whole = util::Crc32c(long_text);
  uint32_t split = util::Crc32c(util::Crc32c(0, long_text.data(), 333), long_text.data() + 333, 667);
  CHECK(whole == split);
}

TEST_CASE("records round-trip through the writer and the reader") {
  testing::TempDir dir;
  std::vector<Seen> records = {{RecordType::kRunStart, "{\"id\":1}"},
                               {RecordType::kText, "hello\n"},
                               {RecordType::kSummary, std::string(100000, 'z')}};
  fs::path path = WriteJournal(dir.path(), records);
  ReadOutcome outcome;
  auto seen = ReadAll(path, &outcome);
  REQUIRE(seen.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(seen[i].type == records[i].type);
    CHECK(seen[i].payload == records[i].payload);
  }
  CHECK(outcome.next_offset == fs::file_size(path));
  CHECK_FALSE(outcome.torn_tail);
  CHECK_FALSE(outcome.corrupt);
  // Reading on from the returned offset yields nothing new.
  CHECK(ReadAll(path, nullptr, outcome.next_offset).empty());
}

TEST_CASE("torn tail is ignored and the records before it are kept") {
  testing::TempDir dir;
  fs::path path = WriteJournal(dir.path(), {{RecordType::kText, "one\n"}, {RecordType::kText, "two\n"}});
  uint64_t full = fs::file_size(path);
  fs::resize_file(path, full - 3);  // the second record loses its last bytes
  ReadOutcome outcome;
  auto seen = ReadAll(path, &outcome);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].payload == "one\n");
  CHECK(outcome.torn_tail);
  CHECK(outcome.next_offset == kHeaderSize + kRecordHeaderSize + 4);
}

TEST_CASE("corrupt tail record is detected by its checksum") {
  testing::TempDir dir;
  fs::path path = WriteJournal(dir.path(), {{RecordType::kText, "one\n"}, {RecordType::kText, "two\n"}});
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-2, std::ios::end);
    f.put('X');
  }
  ReadOutcome outcome;
  auto seen = ReadAll(path, &outcome);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].payload == "one\n");
  CHECK(outcome.corrupt);
}

TEST_CASE("a file that is not a journal is reported as corruption") {
  testing::TempDir dir;
  fs::path path = dir.path() / "journal";
  std::ofstream(path) << "definitely not a journal";
  auto r = ReadJournal(path, 0, [](RecordType, std::string_view) { return Status::Ok(); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kCorruption);
  auto missing = ReadJournal(dir.path() / "nope", 0, [](RecordType, std::string_view) { return Status::Ok(); });
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_CASE("a read budget stops at whole records and resumes exactly") {
  testing::TempDir dir;
  std::vector<Seen> records;
  for (int i = 0; i < 50; ++i) records.push_back({RecordType::kText, fmt::format("line {}\n", i)});
  fs::path path = WriteJournal(dir.path(), records);
  std::vector<std::string> texts;
  uint64_t offset = 0;
  for (int pass = 0; pass < 100; ++pass) {
    auto r = ReadJournal(path, offset, [&](RecordType, std::string_view p) {
      texts.emplace_back(p);
      return Status::Ok();
    }, /*max_bytes=*/40);
    REQUIRE(r.ok());
    if (r->next_offset == offset) break;
    offset = r->next_offset;
  }
  REQUIRE(texts.size() == 50);
  CHECK(texts[49] == "line 49\n");
}
