#include "system/disk_usage.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <utility>

#include "system/text_fields.h"
#include "util/files.h"

namespace runtrack::telemetry {

DiskUsage DiskUsageFromBlocks(std::string path, uint64_t fragment_size, uint64_t blocks,
                              uint64_t blocks_free, uint64_t blocks_available) {
  DiskUsage d;
  d.path = std::move(path);
  d.total_bytes = blocks * fragment_size;
  d.used_bytes = (blocks >= blocks_free ? blocks - blocks_free : 0) * fragment_size;
  d.free_bytes = blocks_available * fragment_size;
  d.percent = PercentOf(static_cast<double>(d.used_bytes), static_cast<double>(d.used_bytes + d.free_bytes));
  return d;
}

Result<DiskUsage> ReadDiskUsage(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("disk usage: empty path");
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return util::ErrnoStatus("statvfs", path, errno);
  return DiskUsageFromBlocks(path, st.f_frsize, st.f_blocks, st.f_bfree, st.f_bavail);
}

}  // namespace runtrack::telemetry
