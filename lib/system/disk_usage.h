// Disk usage of the file system holding a path (statvfs), with psutil.disk_usage's definitions.
#pragma once

#include <cstdint>
#include <string>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack::telemetry {

// The arithmetic, separate from the system call so it is tested with exact numbers.
DiskUsage DiskUsageFromBlocks(std::string path, uint64_t fragment_size, uint64_t blocks,
                              uint64_t blocks_free, uint64_t blocks_available);

// NotFound when `path` does not exist, IOError for other statvfs failures; InvalidArgument for an
// empty path. The path is only passed to statvfs, never opened or written.
Result<DiskUsage> ReadDiskUsage(const std::string& path);

}  // namespace runtrack::telemetry
