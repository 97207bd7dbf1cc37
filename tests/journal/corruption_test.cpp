// Torn tail versus corruption: a torn tail (a writer mid-append or killed mid-append) is silent and
// re-read later; damage anywhere else is reported with its offset and size, and every record after
// it is still read.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "journal/journal_reader.h"
#include "test_support.h"

using namespace runtrack;
using namespace runtrack::journal;
namespace fs = std::filesystem;

namespace {

// A journal built in memory, with the offset of every record, so a test can damage one exactly.
struct Image {
  std::string bytes = EncodeHeader();
  std::vector<uint64_t> offsets;

  void Add(std::string_view text) {
    offsets.push_back(bytes.size());
    AppendRecord(&bytes, RecordType::kText, text);
  }
  uint64_t end_of(size_t i) const { return i + 1 < offsets.size() ? offsets[i + 1] : bytes.size(); }
};

Image Lines(int n) {
  Image image;
  for (int i = 0; i < n; ++i) image.Add("line " + std::to_string(i) + "\n");
  return image;
}

void Write(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void AppendBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void SetLength(Image* image, size_t record, uint32_t length) {
  std::memcpy(image->bytes.data() + image->offsets[record], &length, 4);
}

std::vector<std::string> Read(const fs::path& path, ReadOutcome* outcome, uint64_t offset = 0) {
  std::vector<std::string> texts;
  auto r = ReadJournal(path, offset, [&](RecordType type, std::string_view payload) {
    CHECK(type == RecordType::kText);
    texts.emplace_back(payload);
    return Status::Ok();
  });
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  *outcome = *r;
  return texts;
}

const std::vector<std::string> kAllButLine2 = {"line 0\n", "line 1\n", "line 3\n", "line 4\n"};

}  // namespace

TEST_CASE("a length corrupted mid-journal to run past end of file is corruption, not a torn tail") {
  testing::TempDir dir;
  Image image = Lines(5);
  SetLength(&image, 2, 1u << 20);  // plausible, but far past the end of this small file
  Write(dir.path() / "journal", image.bytes);
  ReadOutcome outcome;
  CHECK(Read(dir.path() / "journal", &outcome) == kAllButLine2);
  CHECK(outcome.corrupt);
  CHECK_FALSE(outcome.torn_tail);
  CHECK(outcome.corrupt_offset == image.offsets[2]);
  CHECK(outcome.skipped_bytes == image.end_of(2) - image.offsets[2]);
  CHECK(outcome.next_offset == image.bytes.size());
}

TEST_CASE("a length corrupted mid-journal to a smaller or invalid value is skipped the same way") {
  testing::TempDir dir;
  for (uint32_t bad : {3u, 0u, kMaxRecordLength + 1, 0xFFFFFFFFu}) {
    INFO("length " << bad);
    Image image = Lines(5);
    SetLength(&image, 2, bad);
    Write(dir.path() / "journal", image.bytes);
    ReadOutcome outcome;
    CHECK(Read(dir.path() / "journal", &outcome) == kAllButLine2);
    CHECK(outcome.corrupt);
    CHECK(outcome.corrupt_offset == image.offsets[2]);
    CHECK(outcome.skipped_bytes == image.end_of(2) - image.offsets[2]);
    CHECK(outcome.next_offset == image.bytes.size());
  }
}

TEST_CASE("a damaged payload and stray bytes between records are skipped up to the next record") {
  testing::TempDir dir;
  Image damaged = Lines(5);
  damaged.bytes[damaged.offsets[2] + kRecordHeaderSize + 1] ^= 0x40;  // checksum no longer matches
  Write(dir.path() / "journal", damaged.bytes);
  ReadOutcome outcome;
  CHECK(Read(dir.path() / "journal", &outcome) == kAllButLine2);
  CHECK(outcome.corrupt_offset == damaged.offsets[2]);
  CHECK(outcome.skipped_bytes == damaged.end_of(2) - damaged.offsets[2]);

  Image stray = Lines(5);
  stray.bytes.insert(stray.offsets[3], "\x07garbage");
  Write(dir.path() / "journal", stray.bytes);
  CHECK(Read(dir.path() / "journal", &outcome) ==
        std::vector<std::string>{"line 0\n", "line 1\n", "line 2\n", "line 3\n", "line 4\n"});
  CHECK(outcome.corrupt);
  CHECK(outcome.corrupt_offset == stray.offsets[3]);
  CHECK(outcome.skipped_bytes == 8);
}

TEST_CASE("a torn tail stays silent and is read once the writer completes it") {
  testing::TempDir dir;
  fs::path path = dir.path() / "journal";
  Image image = Lines(4);
  for (uint64_t cut : {image.offsets[3] + 2, image.offsets[3] + kRecordHeaderSize + 1, image.bytes.size() - 1}) {
    INFO("file cut at " << cut);
    Write(path, std::string_view(image.bytes).substr(0, cut));
    ReadOutcome outcome;
    CHECK(Read(path, &outcome) == std::vector<std::string>{"line 0\n", "line 1\n", "line 2\n"});
    CHECK(outcome.torn_tail);
    CHECK_FALSE(outcome.corrupt);
    CHECK(outcome.skipped_bytes == 0);
    CHECK(outcome.next_offset == image.offsets[3]);
    // The writer finishes its append: the next read starts at the torn record and gets it whole.
    AppendBytes(path, std::string_view(image.bytes).substr(cut));
    ReadOutcome after;
    CHECK(Read(path, &after, outcome.next_offset) == std::vector<std::string>{"line 3\n"});
    CHECK_FALSE(after.torn_tail);
    CHECK_FALSE(after.corrupt);
    CHECK(after.next_offset == image.bytes.size());
  }
}

TEST_CASE("a zero-filled tail, as a crash without fsync leaves, is a torn tail") {
  testing::TempDir dir;
  Image image = Lines(3);
  Write(dir.path() / "journal", image.bytes + std::string(4096, '\0'));
  ReadOutcome outcome;
  CHECK(Read(dir.path() / "journal", &outcome).size() == 3);
  CHECK(outcome.torn_tail);
  CHECK_FALSE(outcome.corrupt);
  CHECK(outcome.next_offset == image.bytes.size());
}

TEST_CASE("damage followed by a torn tail reports both and keeps the records in between") {
  testing::TempDir dir;
  Image image = Lines(5);
  SetLength(&image, 1, 1u << 20);
  Write(dir.path() / "journal", std::string_view(image.bytes).substr(0, image.bytes.size() - 3));
  ReadOutcome outcome;
  CHECK(Read(dir.path() / "journal", &outcome) == std::vector<std::string>{"line 0\n", "line 2\n", "line 3\n"});
  CHECK(outcome.corrupt);
  CHECK(outcome.corrupt_offset == image.offsets[1]);
  CHECK(outcome.skipped_bytes == image.end_of(1) - image.offsets[1]);
  CHECK(outcome.torn_tail);
  CHECK(outcome.next_offset == image.offsets[4]);
}

TEST_CASE("a damaged last record is stepped over, and what a live writer appends after it is read") {
  testing::TempDir dir;
  fs::path path = dir.path() / "journal";
  Image image = Lines(3);
  image.bytes[image.offsets[2] + kRecordHeaderSize] ^= 0x01;
  Write(path, image.bytes);
  ReadOutcome outcome;
  CHECK(Read(path, &outcome) == std::vector<std::string>{"line 0\n", "line 1\n"});
  CHECK(outcome.corrupt);
  CHECK(outcome.corrupt_offset == image.offsets[2]);
  CHECK(outcome.skipped_bytes == image.bytes.size() - image.offsets[2]);
  CHECK(outcome.next_offset == image.bytes.size());

  std::string more;
  AppendRecord(&more, RecordType::kText, "line 3\n");
  AppendBytes(path, more);
  ReadOutcome after;
  CHECK(Read(path, &after, outcome.next_offset) == std::vector<std::string>{"line 3\n"});
  CHECK_FALSE(after.corrupt);
}

TEST_CASE("garbage with no valid record after it is reported without being skipped") {
  testing::TempDir dir;
  Image image = Lines(2);
  std::string garbage = "\xff\xff\xff\xff not a record";
  Write(dir.path() / "journal", image.bytes + garbage);
  ReadOutcome outcome;
  CHECK(Read(dir.path() / "journal", &outcome).size() == 2);
  CHECK(outcome.corrupt);
  CHECK_FALSE(outcome.torn_tail);
  CHECK(outcome.corrupt_offset == image.bytes.size());
  CHECK(outcome.skipped_bytes == 0);
  CHECK(outcome.next_offset == image.bytes.size());
}

TEST_CASE("a budget counts skipped bytes and resumes after the damage") {
  testing::TempDir dir;
  Image image = Lines(6);
  SetLength(&image, 1, 1u << 20);
  Write(dir.path() / "journal", image.bytes);
  std::vector<std::string> texts;
  uint64_t offset = 0, skipped = 0;
  for (int pass = 0; pass < 50; ++pass) {
    auto r = ReadJournal(dir.path() / "journal", offset, [&](RecordType, std::string_view p) {
      texts.emplace_back(p);
      return Status::Ok();
    }, /*max_bytes=*/10);
    REQUIRE(r.ok());
    skipped += r->skipped_bytes;
    if (r->next_offset == offset) break;
    offset = r->next_offset;
  }
  CHECK(texts == std::vector<std::string>{"line 0\n", "line 2\n", "line 3\n", "line 4\n", "line 5\n"});
  CHECK(skipped == image.end_of(1) - image.offsets[1]);
  CHECK(offset == image.bytes.size());
}
