// RocksDB key layout of the catalog (documented in docs/FORMATS.md). Run ids have a fixed length
// (22 bytes), so prefixes never collide; integers are big-endian so keys sort numerically.
//
//   "F"                                     -> catalog format version (decimal text)
//   "r" <run_id>                            -> RunRecord JSON
//   "p" <run_id> <u32 series> <u32 chunk>   -> up to kChunkPoints StoredPoints (28 bytes each)
//   "l" <run_id> <u64 byte offset>          -> text log bytes starting at that offset
//   "s" <run_id> <u32 series>               -> sealed segment index entry (sealed_series.h)
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace runtrack::catalog {

inline constexpr std::string_view kFormatKey = "F";
// 2: a catalog that may hold sealed series ("s" keys) in place of a run's "p" points. A release
// that knows only 1 must refuse it (it would show those runs without points); a catalog still at
// 1 is read as is and marked 2 at its first read-write open (sealing upgrades it run by run).
inline constexpr std::string_view kFormatVersion = "2";
inline constexpr std::string_view kFormatVersionBeforeSealing = "1";
inline constexpr char kRunPrefix = 'r';
inline constexpr char kPointsPrefix = 'p';
inline constexpr char kLogPrefix = 'l';
inline constexpr char kSealedPrefix = 's';

inline void AppendBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline uint64_t ReadBigEndian(std::string_view in, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

inline std::string RunKey(std::string_view run_id) { return std::string(1, kRunPrefix).append(run_id); }

inline std::string RunPointsPrefix(std::string_view run_id) {
  return std::string(1, kPointsPrefix).append(run_id);
}
inline std::string SeriesPrefix(std::string_view run_id, uint32_t series) {
  std::string k = RunPointsPrefix(run_id);
  AppendBigEndian(&k, series, 4);
  return k;
}
inline std::string ChunkKey(std::string_view run_id, uint32_t series, uint32_t chunk) {
  std::string k = SeriesPrefix(run_id, series);
  AppendBigEndian(&k, chunk, 4);
  return k;
}

inline std::string LogPrefix(std::string_view run_id) { return std::string(1, kLogPrefix).append(run_id); }
inline std::string LogKey(std::string_view run_id, uint64_t offset) {
  std::string k = LogPrefix(run_id);
  AppendBigEndian(&k, offset, 8);
  return k;
}

inline std::string SealedPrefix(std::string_view run_id) {
  return std::string(1, kSealedPrefix).append(run_id);
}
inline std::string SealedKey(std::string_view run_id, uint32_t series) {
  std::string k = SealedPrefix(run_id);
  AppendBigEndian(&k, series, 4);
  return k;
}

// The smallest key greater than every key starting with `prefix`.
inline std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace runtrack::catalog
