// VerifySealedObject / VerifySealedFile (include/runtrack/sealed_objects.h): the whole-object check a
// publisher runs before it copies a sealed object to a shared place.
#include <algorithm>

#include <fmt/format.h>

#include "catalog/sealed_series.h"
#include "runtrack/sealed_objects.h"
#include "segments/byte_source.h"
#include "segments/lod_blocks.h"
#include "segments/object_footer.h"
#include "segments/segment_reader.h"

namespace runtrack {
namespace {

// The object as the caller holds it, without a copy (StringByteSource would own one).
class ViewByteSource final : public segments::ByteSource {
 public:
  explicit ViewByteSource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  Status ReadAt(uint64_t offset, uint64_t length, std::string* out) const override {
    if (offset > bytes_.size() || length > bytes_.size() - offset)
      return Status::InvalidArgument("byte range outside the object");
    out->assign(bytes_.substr(static_cast<size_t>(offset), static_cast<size_t>(length)));
    return Status::Ok();
  }
  std::optional<std::string_view> View() const override { return bytes_; }

 private:
  std::string_view bytes_;
};

// Points decoded at a time: bounds the memory of checking a 10^8-point segment (32 B a point).
constexpr uint64_t kVerifyBatch = 1 << 16;

// Both entry points: `source` holds the object's bytes (in memory, or a file read by range).
Status VerifySealedSource(const SealedObjectRef& ref, SealedObjectKind kind,
                          const std::shared_ptr<const segments::ByteSource>& source) {
  const bool segment = kind == SealedObjectKind::kSegment;
  const std::string what = fmt::format("{} of series {} of run {} ({} points)", segment ? "segment" : "LOD object",
                                       ref.series, ref.run_id, ref.point_count);
  if (source->size() != ref.size_of(kind))
    return Status::Corruption(fmt::format("{} is {} bytes, the catalog recorded {}", what, source->size(), ref.size_of(kind)));
  if (!segment) {
    auto pyramid = segments::DecodeLodPyramid(*source);
    if (!pyramid.ok()) return Status::Corruption(fmt::format("{}: {}", what, pyramid.status().message()));
    if (pyramid->count() != ref.point_count)
      return Status::Corruption(fmt::format("{} covers {} points", what, pyramid->count()));
    return Status::Ok();
  }
  // The footer CRC sits in the trailer, the object's last bytes.
  std::string trailer;
  if (source->size() >= segments::kTrailerSize)
    RUNTRACK_RETURN_IF_ERROR(source->ReadAt(source->size() - segments::kTrailerSize, segments::kTrailerSize, &trailer));
  if (catalog::SegmentFooterCrc(trailer) != ref.footer_crc32c)
    return Status::Corruption(fmt::format("{} is not the one the catalog recorded (footer CRC differs)", what));
  auto reader = segments::SegmentReader::Open(source);
  if (!reader.ok()) return Status::Corruption(fmt::format("{}: {}", what, reader.status().message()));
  if (reader->first_ordinal() != 0 || reader->end_ordinal() != ref.point_count)
    return Status::Corruption(fmt::format("{} holds ordinals [{}, {})", what, reader->first_ordinal(), reader->end_ordinal()));
  std::vector<MetricPoint> points;
  for (uint64_t begin = 0; begin < ref.point_count; begin += kVerifyBatch) {
    const uint64_t end = std::min(ref.point_count, begin + kVerifyBatch);
    if (Status s = reader->ReadOrdinals(begin, end, &points); !s.ok())
      return Status::Corruption(fmt::format("{}: {}", what, s.message()));
  }
  return Status::Ok();
}

}  // namespace

Status VerifySealedObject(const SealedObjectRef& ref, SealedObjectKind kind, std::string_view bytes) {
  return VerifySealedSource(ref, kind, std::make_shared<const ViewByteSource>(bytes));
}

Status VerifySealedFile(const SealedObjectRef& ref, SealedObjectKind kind, const std::filesystem::path& path) {
  RUNTRACK_ASSIGN_OR_RETURN(std::unique_ptr<segments::FileByteSource> file, segments::FileByteSource::Open(path));
  return VerifySealedSource(ref, kind, std::shared_ptr<const segments::ByteSource>(std::move(file)));
}

}  // namespace runtrack
