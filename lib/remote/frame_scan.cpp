#include "remote/frame_scan.h"

#include <cstring>

#include <fmt/format.h>

#include "journal/journal_format.h"
#include "util/crc32c.h"

namespace runtrack::remote {

Result<FrameScan> ScanFrames(std::string_view bytes, uint64_t offset) {
  using namespace journal;
  FrameScan scan;
  if (offset > 0 && offset < kHeaderSize)
    return Status::InvalidArgument(fmt::format("offset {} is inside the 12-byte journal header", offset));
  size_t at = 0;
  if (offset == 0) {
    if (bytes.size() < kHeaderSize) {
      scan.incomplete = !bytes.empty();
      if (!bytes.empty()) scan.stop_reason = "incomplete journal header";
      return scan;
    }
    if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0 || GetU32(bytes.data() + 8) != kFormatVersion) {
      scan.stop_reason = "bad journal header (magic or format version)";
      return scan;
    }
    at = kHeaderSize;
  }
  scan.boundaries.push_back(offset + at);
  while (at < bytes.size()) {
    size_t left = bytes.size() - at;
    if (left < kRecordHeaderSize) {
      scan.incomplete = true;
      scan.stop_reason = fmt::format("incomplete record at offset {}", offset + at);
      break;
    }
    uint32_t length = GetU32(bytes.data() + at);
    if (length == 0 || length > kMaxRecordLength) {
      scan.stop_reason = fmt::format("bad record length {} at offset {}", length, offset + at);
      break;
    }
    if (8 + uint64_t{length} > left) {
      scan.incomplete = true;
      scan.stop_reason = fmt::format("incomplete record at offset {}", offset + at);
      break;
    }
    std::string_view body = bytes.substr(at + 8, length);
    if (util::Crc32c(body) != GetU32(bytes.data() + at + 4)) {
      scan.stop_reason = fmt::format("checksum mismatch in the record at offset {}", offset + at);
      break;
    }
    if (static_cast<RecordType>(body[0]) == RecordType::kStatus) scan.has_status = true;
    at += 8 + length;
    scan.boundaries.push_back(offset + at);
  }
  scan.valid_end = scan.boundaries.back();
  return scan;
}

}  // namespace runtrack::remote
