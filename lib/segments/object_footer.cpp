#include "segments/object_footer.h"

#include <cstring>

#include "segments/byte_io.h"
#include "util/crc32c.h"

namespace runtrack::segments {

void AppendFooterAndTrailer(std::string_view footer, uint32_t format_version, const char (&magic)[8],
                            std::string* out) {
  const uint64_t footer_offset = out->size();
  out->append(footer);
  PutU64(out, footer_offset);
  PutU32(out, static_cast<uint32_t>(footer.size()));
  PutU32(out, util::Crc32c(footer));
  PutU32(out, format_version);
  PutU32(out, 0);
  out->append(magic, 8);
}

Status ReadObjectFooter(const ByteSource& source, std::string_view kind, size_t header_size, uint32_t format_version,
                        const char (&magic)[8], std::string* footer, uint64_t* footer_offset_out) {
  const std::string what(kind);
  const uint64_t size = source.size();
  if (size < header_size + kTrailerSize) {
    return Status::Corruption(what + " truncated: " + std::to_string(size) + " bytes cannot hold a header and trailer");
  }
  std::string trailer;
  RUNTRACK_RETURN_IF_ERROR(source.ReadAt(size - kTrailerSize, kTrailerSize, &trailer));
  if (std::memcmp(trailer.data() + 24, magic, 8) != 0) {
    return Status::Corruption("not a " + what + ", or truncated: the object does not end with the " + what +
                              " trailer");
  }
  const auto footer_offset = LoadLE<uint64_t>(trailer.data());
  const auto footer_length = LoadLE<uint32_t>(trailer.data() + 8);
  const auto footer_crc = LoadLE<uint32_t>(trailer.data() + 12);
  const auto version = LoadLE<uint32_t>(trailer.data() + 16);
  if (version != format_version) {
    return Status::Corruption("unsupported " + what + " format version " + std::to_string(version) +
                              " (this build reads " + std::to_string(format_version) + ")");
  }
  if (LoadLE<uint32_t>(trailer.data() + 20) != 0) return Status::Corruption(what + " trailer is damaged (reserved field)");
  if (footer_offset < header_size || footer_offset > size - kTrailerSize || footer_length > kMaxFooterBytes ||
      footer_length != size - kTrailerSize - footer_offset) {
    return Status::Corruption(what + " trailer places the footer outside the object");
  }
  RUNTRACK_RETURN_IF_ERROR(source.ReadAt(footer_offset, footer_length, footer));
  if (util::Crc32c(*footer) != footer_crc) return Status::Corruption(what + " footer fails its CRC-32C check");
  *footer_offset_out = footer_offset;
  return Status::Ok();
}

}  // namespace runtrack::segments
