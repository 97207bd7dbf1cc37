// The LOD read path a viewer uses after a restart: blocks read from a local file with
// ByteSource::ReadInto into buffers that are not zero-filled first, CRC-checked (ISA-L when the
// library is built with it), used in place; queries walk the covering buckets in order so each
// block is loaded right before use. Same answers as the in-memory pyramid; a damaged, short or
// failing read still gives a rebuild from the raw points, or Corruption when that fails too.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "metrics/downsample.h"
#include "metrics/lod_pyramid.h"
#include "segment_test_util.h"
#include "segments/byte_io.h"
#include "segments/byte_source.h"
#include "segments/lod_blocks.h"
#include "test_support.h"

using namespace runtrack;
using namespace runtrack::segments;
using runtrack::testing::FirstDifference;
using runtrack::testing::TempDir;
using runtrack::testing::TrainingSeries;

namespace {

LodPyramid Build(const std::vector<MetricPoint>& pts) {
  LodPyramid pyr;
  for (size_t i = 0; i < pts.size(); i += 4096) {
    pyr.Append(std::span<const MetricPoint>(pts).subspan(i, std::min<size_t>(4096, pts.size() - i)));
  }
  return pyr;
}

RawPointReader FromMemory(const std::vector<MetricPoint>& pts) {
  return [&pts](uint64_t b, uint64_t e, std::vector<MetricPoint>* out) {
    if (e > pts.size()) return Status::InvalidArgument("past the end");
    out->assign(pts.begin() + static_cast<long>(b), pts.begin() + static_cast<long>(e));
    return Status::Ok();
  };
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

LodPyramid OpenFile(const std::filesystem::path& path, LodPointReader fallback) {
  auto file = FileByteSource::Open(path);
  REQUIRE(file.ok());
  auto lazy = OpenLodPyramid(std::shared_ptr<const ByteSource>(std::move(file).value()), std::move(fallback));
  INFO(lazy.status().ToString());
  REQUIRE(lazy.ok());
  REQUIRE(lazy->lazy());
  return std::move(lazy).value();
}

// The format-2 footer's offset of block `block` of `level` (layout in lod_blocks.h).
uint64_t BlockOffset(const std::string& bytes, size_t level, size_t block) {
  const auto footer_offset = LoadLE<uint64_t>(bytes.data() + bytes.size() - 32);
  const char* footer = bytes.data() + footer_offset;
  const auto levels = LoadLE<uint32_t>(footer + 20);
  const auto bb = LoadLE<uint32_t>(footer + 24);
  size_t index = 0;
  for (size_t k = 0; k < level; ++k) index += (LoadLE<uint32_t>(footer + 28 + 4 * k) + bb - 1) / bb;
  return LoadLE<uint64_t>(footer + 28 + 4 * levels + 12 * (index + block));
}

// A source that only implements ReadAt, so ReadInto takes the base class's default; `short_by`
// bytes are dropped from every answer, as a broken remote source might.
class ReadAtOnlySource final : public ByteSource {
 public:
  explicit ReadAtOnlySource(std::string bytes, size_t short_by = 0) : bytes_(std::move(bytes)), short_by_(short_by) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override {
    if (offset > bytes_.size() || length > bytes_.size() - offset) return Status::InvalidArgument("out of range");
    out->assign(bytes_, offset, length - std::min<uint64_t>(length, short_by_));
    return Status::Ok();
  }

 private:
  std::string bytes_;
  size_t short_by_;
};

}  // namespace

TEST_CASE("ReadInto gives the bytes ReadAt gives, for files and for the default over ReadAt", "[lod_read]") {
  TempDir dir;
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes.push_back(static_cast<char>(i * 37 + 11));
  WriteFile(dir.path() / "object", bytes);
  auto file = FileByteSource::Open(dir.path() / "object");
  REQUIRE(file.ok());
  const ReadAtOnlySource by_read_at(bytes);
  for (const ByteSource* source : {static_cast<const ByteSource*>(file->get()), static_cast<const ByteSource*>(&by_read_at)}) {
    for (auto [offset, length] :
         std::initializer_list<std::pair<uint64_t, uint64_t>>{{0, 5000}, {0, 0}, {1234, 1}, {4000, 1000}, {5000, 0}}) {
      std::string got(length, '\x7f');
      REQUIRE(source->ReadInto(offset, length, got.data()).ok());
      CHECK(got == bytes.substr(offset, length));
    }
  }
  std::string sink(2, '\0');
  CHECK((*file)->ReadInto(4999, 2, sink.data()).ToString() ==
        "invalid_argument: byte range [4999, +2) lies outside an object of 5000 bytes");
  // A source that answers short is an I/O error, not a buffer with stale bytes in it.
  const ReadAtOnlySource short_source(bytes, 3);
  CHECK(short_source.ReadInto(100, 50, sink.data()).ToString() ==
        "io_error: read of 50 bytes at offset 100 returned 47");
}

TEST_CASE("a LOD object read lazily from a file answers every target and range like the in-memory pyramid",
          "[lod_lazy][lod_read]") {
  TempDir dir;
  const std::vector<MetricPoint> pts = TrainingSeries(1'200'000, 12);  // 9375 level-0 buckets, 1172 level-1
  const LodPyramid memory = Build(pts);
  WriteFile(dir.path() / "series.lod", EncodeLodPyramid(memory));
  const int64_t first = pts.front().step, last = pts.back().step;
  struct Range {
    const char* name;
    std::optional<int64_t> lo, hi;
  };
  const std::vector<Range> ranges = {
      {"whole series", std::nullopt, std::nullopt},
      {"left edge", first, first + 300'000},
      {"right edge", last - 300'000, last},
      {"inner, ragged on both sides", first + 123'457, last - 98'765},
  };
  for (const Range& r : ranges) {
    for (size_t target : {1ul, 3ul, 10ul, 100ul, 1000ul, 10'000ul}) {
      for (int method = 0; method < 3; ++method) {
        DownsampleOptions o;
        o.target_points = target;
        o.step_min = r.lo;
        o.step_max = r.hi;
        o.method = static_cast<DownsampleMethod>(method);
        o.x_axis = static_cast<XAxis>((target + static_cast<size_t>(method)) % 3);
        INFO(r.name << ", target " << target << ", method " << method);
        const LodPyramid lazy = OpenFile(dir.path() / "series.lod", FromMemory(pts));  // a first chart each
        auto want = Downsample(memory, FromMemory(pts), o);
        auto got = Downsample(lazy, FromMemory(pts), o);
        REQUIRE(want.ok());
        REQUIRE(got.ok());
        CHECK(got->level_used == want->level_used);
        CHECK(got->points_in_range == want->points_in_range);
        CHECK(FirstDifference(got->points, want->points) == -1);
        CHECK(lazy.rebuilt_blocks() == 0);
        CHECK(lazy.load_status().ok());
      }
    }
  }
}

TEST_CASE("a damaged LOD block read from a file is rebuilt from the raw points, same answer", "[lod_lazy][lod_read]") {
  TempDir dir;
  const std::vector<MetricPoint> pts = TrainingSeries(1'200'000, 13);
  const LodPyramid memory = Build(pts);
  std::string bytes = EncodeLodPyramid(memory);
  bytes[BlockOffset(bytes, 1, 1) + 4000] ^= 0x20;  // a raw level-1 record of block 1 of 3
  WriteFile(dir.path() / "series.lod", bytes);
  const LodPyramid lazy = OpenFile(dir.path() / "series.lod", FromMemory(pts));
  DownsampleOptions o;
  o.target_points = 250;  // level 1: 1172 buckets >= 4 x 250
  auto want = Downsample(memory, FromMemory(pts), o);
  auto got = Downsample(lazy, FromMemory(pts), o);
  REQUIRE(got.ok());
  REQUIRE(got->level_used == 1);
  CHECK(FirstDifference(got->points, want->points) == -1);
  CHECK(lazy.rebuilt_blocks() == 1);
  CHECK(lazy.load_status().ok());
}

TEST_CASE("a LOD file that shrinks after open makes its blocks rebuilt, or Corruption without raw points",
          "[lod_lazy][lod_read]") {
  TempDir dir;
  const std::vector<MetricPoint> pts = TrainingSeries(1'200'000, 14);
  const LodPyramid memory = Build(pts);
  const std::string bytes = EncodeLodPyramid(memory);
  const std::filesystem::path path = dir.path() / "series.lod";
  DownsampleOptions o;
  o.target_points = 250;
  auto want = Downsample(memory, FromMemory(pts), o);
  REQUIRE(want.ok());
  // Level 1 ends where level 2 starts; cut the file inside level 1's last block (a short read).
  const uint64_t cut = BlockOffset(bytes, 1, 2) + 100;

  WriteFile(path, bytes);
  const LodPyramid rebuilt = OpenFile(path, FromMemory(pts));
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(cut)) == 0);
  auto got = Downsample(rebuilt, FromMemory(pts), o);
  REQUIRE(got.ok());
  CHECK(FirstDifference(got->points, want->points) == -1);
  CHECK(rebuilt.rebuilt_blocks() == 1);
  CHECK(rebuilt.load_status().ok());

  WriteFile(path, bytes);
  const LodPyramid broken = OpenFile(path, [](uint64_t, uint64_t, std::vector<MetricPoint>*) {
    return Status::Corruption("segment block at ordinal 0 fails its CRC-32C check");
  });
  REQUIRE(::truncate(path.c_str(), static_cast<off_t>(cut)) == 0);
  REQUIRE(Downsample(broken, FromMemory(pts), o).ok());
  CHECK(broken.load_status().ToString() ==
        "corruption: pread " + path.string() +
            ": file shrank below its size at open; rebuilding it from the raw points failed: corruption: segment "
            "block at ordinal 0 fails its CRC-32C check");
}
