// The tail shared by segment and LOD objects: a footer (the object's index) followed by a fixed
// 32-byte trailer, so a reader of a file or of an S3 object finds everything from the last 32
// bytes, without a listing or a side file:
//
//   trailer := u64 footer_offset  u32 footer_length  u32 footer_crc32c
//              u32 format_version  u32 reserved (0)  magic[8]
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "segments/byte_source.h"

namespace runtrack::segments {

inline constexpr size_t kTrailerSize = 32;
inline constexpr uint32_t kMaxFooterBytes = 256u << 20;

// Appends `footer` and its trailer to `out` (the footer starts at out's current size).
void AppendFooterAndTrailer(std::string_view footer, uint32_t format_version, const char (&magic)[8],
                            std::string* out);

// Reads and checks the trailer and the footer (two ReadAt calls) into *footer (CRC-checked) and
// *footer_offset (where it starts: the object's body is [header_size, *footer_offset)). Corruption, naming `kind`
// ("segment", "LOD object"), if the object is too short to hold `header_size` bytes and a
// trailer, does not end with `magic`, has another format version, or its footer fails its CRC.
Status ReadObjectFooter(const ByteSource& source, std::string_view kind, size_t header_size, uint32_t format_version,
                        const char (&magic)[8], std::string* footer, uint64_t* footer_offset);

}  // namespace runtrack::segments
