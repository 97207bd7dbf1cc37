// Bucket key names of sealed segments and the segment reference list format, without a gateway:
// names are fixed by the index entry, only this layout's keys are recognised (gc leaves the rest
// alone), and a list gc cannot read is Corruption.
#include <catch2/catch.hpp>

#include <unordered_set>

#include "service/s3/object_segment_references.h"
#include "service/s3/object_segment_store.h"

using namespace runicorn::service::s3;
using runtrack::SealedObjectKind;
using runtrack::SealedObjectRef;
using runtrack::StatusCode;

namespace {

std::shared_ptr<S3Client> Client(const std::string& prefix) {
  S3Location loc;
  loc.bucket = "team-bucket";
  loc.prefix = prefix;
  loc.endpoint = "http://127.0.0.1:1";
  return std::make_shared<S3Client>(loc, S3Credentials{"k", "s", ""});
}

SealedObjectRef Ref() {
  SealedObjectRef ref;
  ref.run_id = "20261203_101500_abc123";
  ref.series = 7;
  ref.point_count = 10000000;
  ref.footer_crc32c = 0xdeadbeef;
  ref.segment_size = 53000000;
  ref.lod_size = 2900000;
  return ref;
}

}  // namespace

TEST_CASE("sealed segment keys are fixed by the index entry and parsed back", "[s3][segments]") {
  ObjectSegmentStore store(Client("runicorn/prod"));
  const SealedObjectRef ref = Ref();
  CHECK(ObjectSegmentStore::NameOf(ref) == "20261203_101500_abc123/00000007-0000000000989680-deadbeef");
  CHECK(store.KeyOf(ref, SealedObjectKind::kSegment) ==
        "runicorn/prod/segments/20261203_101500_abc123/00000007-0000000000989680-deadbeef.seg");
  CHECK(store.KeyOf(ref, SealedObjectKind::kLod) ==
        "runicorn/prod/segments/20261203_101500_abc123/00000007-0000000000989680-deadbeef.lod");
  CHECK(store.Describe(ref, SealedObjectKind::kLod) ==
        "s3://team-bucket/runicorn/prod/segments/20261203_101500_abc123/00000007-0000000000989680-deadbeef.lod");
  CHECK(store.NameOfKey(store.KeyOf(ref, SealedObjectKind::kSegment)) == ObjectSegmentStore::NameOf(ref));
  CHECK(store.NameOfKey(store.KeyOf(ref, SealedObjectKind::kLod)) == ObjectSegmentStore::NameOf(ref));
  // Another sealing of the same series (grown, or re-encoded) has another name.
  SealedObjectRef grown = ref;
  grown.point_count += 1;
  CHECK(store.KeyOf(grown, SealedObjectKind::kSegment) != store.KeyOf(ref, SealedObjectKind::kSegment));
  SealedObjectRef resealed = ref;
  resealed.footer_crc32c ^= 1;
  CHECK(store.KeyOf(resealed, SealedObjectKind::kSegment) != store.KeyOf(ref, SealedObjectKind::kSegment));

  for (const char* foreign : {"runicorn/prod/segments/README",
                              "runicorn/prod/segments/20261203_101500_abc123/00000007-0000000000989680-deadbeef.tmp",
                              "runicorn/prod/segments/20261203_101500_ABC123/00000007-0000000000989680-deadbeef.seg",
                              "runicorn/prod/segments/../../../etc/00000007-0000000000989680-deadbeef.seg",
                              "runicorn/other/segments/20261203_101500_abc123/00000007-0000000000989680-deadbeef.seg",
                              "runicorn/prod/segments/20261203_101500_abc123/0000000g-0000000000989680-deadbeef.seg"})
    CHECK_FALSE(store.NameOfKey(foreign).has_value());

  // An id that is not a run id never becomes a key.
  SealedObjectRef bad = ref;
  bad.run_id = "../x";
  auto read = store.ReadRange(bad, SealedObjectKind::kSegment, 0, 1);
  CHECK(read.status().code() == StatusCode::kInvalidArgument);
  CHECK(store.client().counts().get == 0);
}

TEST_CASE("segment reference lists round-trip and refuse what they cannot read", "[s3][segments][gc]") {
  const std::string a = "20261203_101500_abc123/00000007-0000000000989680-deadbeef";
  const std::string b = "20261203_101500_abc123/00000008-0000000000989680-00000001";
  const std::string text = FormatSegmentReferences("host:/data/store", {b, a, b});
  CHECK(text == "runicorn-segment-references 1\nstore host:/data/store\n" + a + "\n" + b + "\n");
  std::unordered_set<std::string> parsed;
  REQUIRE(ParseSegmentReferences(text, &parsed).ok());
  CHECK(parsed == std::unordered_set<std::string>{a, b});
  std::unordered_set<std::string> none;
  REQUIRE(ParseSegmentReferences(FormatSegmentReferences("h:/r", {}), &none).ok());
  CHECK(none.empty());

  std::unordered_set<std::string> ignored;
  auto bad_header = ParseSegmentReferences("runicorn-chunk-references 1\n" + a + "\n", &ignored);
  CHECK(bad_header.code() == StatusCode::kCorruption);
  CHECK(bad_header.message() == "segment reference list does not start with 'runicorn-segment-references 1'");
  auto bad_line = ParseSegmentReferences("runicorn-segment-references 1\nstore x\n" + a + "\n../etc/passwd\n", &ignored);
  CHECK(bad_line.message() == "segment reference list line 4 is not a sealed series name");
  auto torn = ParseSegmentReferences("runicorn-segment-references 1\n" + a, &ignored);
  CHECK(torn.message() == "segment reference list is cut short (no final newline)");
  CHECK(ParseSegmentReferences("", &ignored).message() == "segment reference list is empty");
}
