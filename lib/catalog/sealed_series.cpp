#include "catalog/sealed_series.h"

#include <fmt/format.h>

#include "catalog/sealed_object_bytes.h"
#include "segments/byte_io.h"
#include "segments/byte_source.h"

namespace runtrack::catalog {
namespace {
constexpr uint8_t kSealedEntryVersion = 1;
constexpr size_t kSealedEntrySize = 1 + 8 + 8 + 8 + 4 + 8;
constexpr size_t kTrailerSize = 32;
constexpr size_t kTrailerFooterCrcOffset = 12;
}  // namespace

std::string EncodeSealedSegment(const SealedSegment& s) {
  std::string out;
  out.reserve(kSealedEntrySize);
  segments::PutU8(&out, kSealedEntryVersion);
  segments::PutU64(&out, s.first_ordinal);
  segments::PutU64(&out, s.point_count);
  segments::PutU64(&out, s.file_size);
  segments::PutU32(&out, s.footer_crc32c);
  segments::PutU64(&out, s.lod_size);
  return out;
}

std::optional<SealedSegment> DecodeSealedSegment(std::string_view v) {
  if (v.size() != kSealedEntrySize || static_cast<uint8_t>(v[0]) != kSealedEntryVersion) return std::nullopt;
  SealedSegment s;
  s.first_ordinal = segments::LoadLE<uint64_t>(v.data() + 1);
  s.point_count = segments::LoadLE<uint64_t>(v.data() + 9);
  s.file_size = segments::LoadLE<uint64_t>(v.data() + 17);
  s.footer_crc32c = segments::LoadLE<uint32_t>(v.data() + 25);
  s.lod_size = segments::LoadLE<uint64_t>(v.data() + 29);
  if (s.first_ordinal != 0) return std::nullopt;  // not written by this build
  return s;
}

uint32_t SegmentFooterCrc(std::string_view object) {
  if (object.size() < kTrailerSize) return 0;
  return segments::LoadLE<uint32_t>(object.data() + object.size() - kTrailerSize + kTrailerFooterCrcOffset);
}

namespace {

Result<std::shared_ptr<const segments::SegmentReader>> OpenChecked(const StoreLayout& layout,
                                                                   const SealedObjectSource* objects,
                                                                   std::string_view run_id, uint32_t series,
                                                                   const SealedSegment& segment) {
  std::string path;  // what was opened: the local file, or the source's object when it is missing
  RUNTRACK_ASSIGN_OR_RETURN(std::unique_ptr<segments::ByteSource> file,
                            OpenSealedBytes(layout, objects, run_id, series, segment, SealedObjectKind::kSegment, &path));
  const std::string fix = "; delete the catalog folder to rebuild it from the journals";
  if (file->size() != segment.file_size)
    return Status::Corruption(fmt::format("segment {} is {} bytes, the catalog recorded {}{}", path,
                                          file->size(), segment.file_size, fix));
  std::string trailer;
  RUNTRACK_RETURN_IF_ERROR(file->ReadAt(file->size() - std::min<uint64_t>(file->size(), kTrailerSize),
                                        std::min<uint64_t>(file->size(), kTrailerSize), &trailer));
  if (SegmentFooterCrc(trailer) != segment.footer_crc32c)
    return Status::Corruption(fmt::format("segment {} is not the one the catalog recorded (footer CRC differs){}",
                                          path, fix));
  std::shared_ptr<const segments::ByteSource> source(std::move(file));
  auto reader = segments::SegmentReader::Open(source);
  if (!reader.ok())
    return Status::Corruption(fmt::format("segment {}: {}{}", path, reader.status().message(), fix));
  if (reader->first_ordinal() != segment.first_ordinal || reader->end_ordinal() != segment.end_ordinal())
    return Status::Corruption(fmt::format("segment {} holds ordinals [{}, {}), the catalog recorded [{}, {}){}",
                                          path, reader->first_ordinal(), reader->end_ordinal(),
                                          segment.first_ordinal, segment.end_ordinal(), fix));
  return std::make_shared<const segments::SegmentReader>(std::move(reader).value());
}

}  // namespace

Result<std::shared_ptr<const segments::SegmentReader>> SegmentReaderCache::Get(const StoreLayout& layout,
                                                                               std::string_view run_id,
                                                                               uint32_t series,
                                                                               const SealedSegment& segment,
                                                                               const SealedObjectSource* objects) {
  std::pair<std::string, uint32_t> key{std::string(run_id), series};
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(key);
    if (it != open_.end() && it->second.segment == segment) return it->second.reader;
  }
  // Opened outside the lock: two threads may both open it; the second insert wins, both readers work.
  RUNTRACK_ASSIGN_OR_RETURN(auto reader,
                            OpenChecked(layout, objects, run_id, series, segment));
  std::lock_guard lock(mu_);
  if (open_.size() >= kMaxOpen) open_.clear();
  open_[std::move(key)] = Entry{segment, reader};
  return reader;
}

void SegmentReaderCache::DropRun(std::string_view run_id) {
  std::lock_guard lock(mu_);
  std::erase_if(open_, [&](const auto& entry) { return entry.first.first == run_id; });
}

}  // namespace runtrack::catalog
