// CRC-32C (Castagnoli), the checksum that frames journal records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace runtrack::util {

// Extends `crc` (0 for a fresh checksum) over `data`.
uint32_t Crc32c(uint32_t crc, const void* data, size_t size);
inline uint32_t Crc32c(std::string_view data) { return Crc32c(0, data.data(), data.size()); }

}  // namespace runtrack::util
