// The per-run journal file format (documented in docs/FORMATS.md).
//
//   file   := header record*
//   header := "RTJOURN\0" u32 format_version            (12 bytes)
//   record := u32 length  u32 crc32c  u8 type  payload   (length counts type + payload;
//                                                        crc32c covers type + payload)
//
// All integers are little-endian. An incomplete record at the end of the file with nothing valid
// after it is a torn tail (the writer is mid-append or crashed mid-append); other invalid bytes are
// corruption, which readers skip up to the next valid record (see journal_reader.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace runtrack::journal {

inline constexpr char kMagic[8] = {'R', 'T', 'J', 'O', 'U', 'R', 'N', '\0'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kRecordHeaderSize = 9;  // length, crc, type
inline constexpr uint32_t kMaxRecordLength = 64u << 20;

enum class RecordType : uint8_t {
  kRunStart = 1,       // JSON object: id, project, name, created_at, config, tags, pid, hostname
  kName = 2,           // u32 id, u8 kind (NameKind), UTF-8 bytes
  kPoints = 3,         // repeated PackedPoint
  kSummary = 4,        // JSON object merged into the run summary
  kPrimaryMetric = 5,  // JSON object: name, mode ("max" | "min")
  kText = 6,           // UTF-8 text, one or more complete lines
  kStatus = 7,         // JSON object: status, ended_at [, exit_reason]
  kArtifact = 8,       // JSON object: relation ("produced" | "used"), name, type, version
};

enum class NameKind : uint8_t { kMetric = 0, kStage = 1 };

// One metric point as it sits in a kPoints record: 32 bytes, no padding.
struct PackedPoint {
  uint32_t metric_id;
  uint32_t stage_id;  // 0 = no stage
  int64_t step;
  double wall_time;
  double value;
};
static_assert(sizeof(PackedPoint) == 32);

inline void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
inline uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

std::string EncodeHeader();
// Appends one framed record to `out`.
void AppendRecord(std::string* out, RecordType type, std::string_view payload);

std::string EncodeName(uint32_t id, NameKind kind, std::string_view name);

}  // namespace runtrack::journal
