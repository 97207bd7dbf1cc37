// The library's half of sealed segments in a bucket, without a gateway: a catalog whose run
// folder lacks the segment and LOD files reads them from CatalogOptions::sealed_objects (here an
// in-memory source), on every read path, bit for bit; bytes the source gets wrong are Corruption,
// never points. Plus VerifySealedObject and VerifySealedFile, which guard uploads.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <mutex>

#include "catalog/sealed_support.h"
#include "runtrack/sealed_objects.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string Key(const SealedObjectRef& ref, SealedObjectKind kind) {
  return fmt::format("{}/{}-{}-{}{}", ref.run_id, ref.series, ref.point_count, ref.footer_crc32c,
                     kind == SealedObjectKind::kSegment ? ".seg" : ".lod");
}

// Objects by Key(); counts requests and bytes served.
class MemorySource final : public SealedObjectSource {
 public:
  Status ReadRange(const SealedObjectRef& ref, SealedObjectKind kind, uint64_t offset, uint64_t length,
                   std::string* out) const override {
    std::lock_guard lock(mu);
    ++reads;
    auto it = objects.find(Key(ref, kind));
    if (it == objects.end()) return Status::NotFound("mem: no object " + Key(ref, kind));
    if (offset > it->second.size() || length > it->second.size() - offset)
      return Status::Corruption("mem: the object is shorter than the range");
    out->assign(it->second, offset, length);
    bytes += length;
    return Status::Ok();
  }
  std::string Describe(const SealedObjectRef& ref, SealedObjectKind kind) const override {
    return "mem://" + Key(ref, kind);
  }

  mutable std::mutex mu;
  std::map<std::string, std::string> objects;
  mutable uint64_t reads = 0, bytes = 0;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

fs::path PathOf(const fs::path& root, const SealedObjectRef& ref, SealedObjectKind kind) {
  const StoreLayout layout(root);
  return kind == SealedObjectKind::kSegment ? layout.segment_path(ref.run_id, ref.series, ref.point_count)
                                            : layout.lod_path(ref.run_id, ref.series, ref.point_count);
}

constexpr SealedObjectKind kKinds[] = {SealedObjectKind::kSegment, SealedObjectKind::kLod};

}  // namespace

TEST_CASE("sealed objects missing from the run folder are read from the attached source", "[s3][sealed]") {
  TempDir dir;
  std::string id;
  {
    auto store = OpenStore(dir.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 10000);
    REQUIRE(run->Finish().ok());
  }
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    Index(*catalog);
    auto sealed = catalog->SealFinishedRuns();
    REQUIRE(sealed.ok());
    REQUIRE(sealed->series_sealed == 4);
  }
  std::string before;
  std::vector<SealedObjectRef> refs;
  {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    before = Transcript(*catalog, id);
    auto listed = catalog->ListSealedObjects();
    REQUIRE(listed.ok());
    refs = *listed;
  }
  // What the catalog lists is exactly what is on disk: one segment and one LOD object per series.
  REQUIRE(refs.size() == 4);
  auto source = std::make_shared<MemorySource>();
  for (const SealedObjectRef& ref : refs) {
    CHECK(ref.run_id == id);
    CHECK(ref.point_count == 10000);
    for (SealedObjectKind kind : kKinds) {
      const fs::path path = PathOf(dir.path(), ref, kind);
      REQUIRE(fs::file_size(path) == ref.size_of(kind));
      std::string bytes = ReadFile(path);
      CHECK(VerifySealedObject(ref, kind, bytes).ok());
      source->objects[Key(ref, kind)] = std::move(bytes);
      REQUIRE(fs::remove(path));
    }
  }
  const SealedObjectRef& first = refs.front();

  SECTION("without a source a missing segment is NotFound, as before") {
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    auto read = catalog->ReadMetric(id, "loss");
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == StatusCode::kNotFound);
  }

  SECTION("with a source every query shape answers bit for bit, by range reads") {
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    CheckSameAnswers(Transcript(*catalog, id), before);
    CHECK(source->reads > 0);
    CHECK(SegmentFiles(dir.path(), id).empty());  // nothing was written back to the disk
  }

  SECTION("a chart reads only its series' two objects, each with one request (the tail read)") {
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    DownsampleOptions o;
    o.target_points = 10;
    auto ds = catalog->DownsampleMetric(id, "loss", o);
    REQUIRE(ds.status().ok());
    CHECK(ds->points_in_range == 10000);
    // Objects of 10^4 points are smaller than the 256 KiB tail: one range read each, at most.
    CHECK(source->reads >= 1);
    CHECK(source->reads <= 2);
    uint64_t largest_pair = 0;
    for (const auto& ref : refs) largest_pair = std::max(largest_pair, ref.segment_size + ref.lod_size);
    CHECK(source->bytes <= largest_pair);
    const uint64_t reads = source->reads;
    auto again = catalog->DownsampleMetric(id, "loss", o);
    REQUIRE(again.ok());
    CHECK(source->reads == reads);  // warm: pyramid and reader (with its tail) are cached
  }

  SECTION("a LOD object the source lacks is rebuilt from the segment: same answers") {
    for (const auto& ref : refs) source->objects.erase(Key(ref, SealedObjectKind::kLod));
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    CheckSameAnswers(Transcript(*catalog, id), before);
  }

  SECTION("an object in neither place is Corruption naming both") {
    source->objects.erase(Key(first, SealedObjectKind::kSegment));
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    // Which metric is series `first.series`: try them all, exactly one fails.
    int failed = 0;
    for (const char* name : {"loss", "noise", "special", "backwards"}) {
      auto read = catalog->ReadMetric(id, name);
      if (read.ok()) continue;
      ++failed;
      CHECK(read.status().code() == StatusCode::kCorruption);
      CHECK(read.status().message() ==
            fmt::format("{} is not on this disk, and reading it from mem://{} failed: mem: no object {}",
                        PathOf(dir.path(), first, SealedObjectKind::kSegment).string(),
                        Key(first, SealedObjectKind::kSegment), Key(first, SealedObjectKind::kSegment)));
    }
    CHECK(failed == 1);
  }

  SECTION("bytes the source gets wrong are Corruption, and only for that series") {
    std::string& bytes = source->objects[Key(first, SealedObjectKind::kSegment)];
    bytes[bytes.size() / 3] ^= 0x40;  // inside a block: its CRC fails
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    int failed = 0;
    for (const char* name : {"loss", "noise", "special", "backwards"}) {
      auto read = catalog->ReadMetric(id, name);
      if (read.ok()) continue;
      ++failed;
      CHECK(read.status().code() == StatusCode::kCorruption);
      CHECK(read.status().message().find("fails its CRC-32C check") != std::string::npos);
    }
    CHECK(failed == 1);
  }

  SECTION("a source object of another sealing (footer CRC) or cut short is Corruption") {
    std::string& bytes = source->objects[Key(first, SealedObjectKind::kSegment)];
    SECTION("cut short") { bytes.resize(bytes.size() - 1); }
    SECTION("another object under the name") { bytes = source->objects[Key(refs[1], SealedObjectKind::kSegment)]; }
    CatalogOptions options = SealingOff();
    options.sealed_objects = source;
    auto catalog = OpenCatalogWith(dir.path(), options);
    int failed = 0;
    for (const char* name : {"loss", "noise", "special", "backwards"}) {
      auto read = catalog->ReadMetric(id, name);
      if (read.ok()) continue;
      ++failed;
      CHECK(read.status().code() == StatusCode::kCorruption);
    }
    CHECK(failed == 1);
  }

  SECTION("VerifySealedObject refuses a damaged, cut or foreign object") {
    const std::string good = source->objects[Key(first, SealedObjectKind::kSegment)];
    std::string flipped = good;
    flipped[flipped.size() / 3] ^= 0x40;
    Status s = VerifySealedObject(first, SealedObjectKind::kSegment, flipped);
    CHECK(s.code() == StatusCode::kCorruption);
    CHECK(s.message().find("fails its CRC-32C check") != std::string::npos);
    s = VerifySealedObject(first, SealedObjectKind::kSegment, good.substr(1));
    CHECK(s.code() == StatusCode::kCorruption);
    CHECK(s.message() == fmt::format("segment of series {} of run {} (10000 points) is {} bytes, the catalog recorded {}",
                                     first.series, id, good.size() - 1, good.size()));
    SealedObjectRef other = first;
    other.footer_crc32c ^= 1;
    s = VerifySealedObject(other, SealedObjectKind::kSegment, good);
    CHECK(s.message() == fmt::format("segment of series {} of run {} (10000 points) is not the one the catalog "
                                     "recorded (footer CRC differs)", first.series, id));
    std::string lod = source->objects[Key(first, SealedObjectKind::kLod)];
    CHECK(VerifySealedObject(first, SealedObjectKind::kLod, lod).ok());
    lod[lod.size() / 2] ^= 1;
    CHECK(VerifySealedObject(first, SealedObjectKind::kLod, lod).code() == StatusCode::kCorruption);

    // VerifySealedFile (reads the file by ranges) gives the same answers for the same bytes.
    const fs::path file = dir.path() / "checked.seg";
    auto write = [&](const std::string& bytes) { std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes; };
    write(good);
    CHECK(VerifySealedFile(first, SealedObjectKind::kSegment, file).ok());
    CHECK(VerifySealedFile(other, SealedObjectKind::kSegment, file).message() ==
          VerifySealedObject(other, SealedObjectKind::kSegment, good).message());
    write(flipped);
    s = VerifySealedFile(first, SealedObjectKind::kSegment, file);
    CHECK(s.code() == StatusCode::kCorruption);
    CHECK(s.message() == VerifySealedObject(first, SealedObjectKind::kSegment, flipped).message());
    write(good.substr(1));
    CHECK(VerifySealedFile(first, SealedObjectKind::kSegment, file).message() ==
          VerifySealedObject(first, SealedObjectKind::kSegment, good.substr(1)).message());
    write(lod);
    CHECK(VerifySealedFile(first, SealedObjectKind::kLod, file).code() == StatusCode::kCorruption);
    write(source->objects[Key(first, SealedObjectKind::kLod)]);
    CHECK(VerifySealedFile(first, SealedObjectKind::kLod, file).ok());
    write("");  // shorter than a trailer
    CHECK(VerifySealedFile(first, SealedObjectKind::kSegment, file).code() == StatusCode::kCorruption);
    CHECK(VerifySealedFile(first, SealedObjectKind::kSegment, dir.path() / "absent.seg").code() ==
          StatusCode::kNotFound);
  }
}
