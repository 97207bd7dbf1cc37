#include "system/proc_diskstats.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "system/text_fields.h"

namespace runtrack::telemetry {

Result<DiskIoCounters> ParseDiskstats(std::string_view text,
                                      const std::function<bool(std::string_view name)>& is_whole_disk) {
  // major minor name reads reads_merged sectors_read ms_reading writes writes_merged sectors_written ...
  constexpr size_t kName = 2, kReads = 3, kSectorsRead = 5, kWrites = 7, kSectorsWritten = 9, kMinFields = 14;
  constexpr uint64_t kSectorBytes = 512;
  DiskIoCounters io;
  std::string error;
  ForEachLine(text, [&](std::string_view line) {
    std::vector<std::string_view> f = SplitFields(line);
    if (f.empty() || !error.empty()) return;
    uint64_t reads = 0, sectors_read = 0, writes = 0, sectors_written = 0;
    if (f.size() < kMinFields || !ParseU64(f[kReads], &reads) || !ParseU64(f[kSectorsRead], &sectors_read) ||
        !ParseU64(f[kWrites], &writes) || !ParseU64(f[kSectorsWritten], &sectors_written)) {
      error = "/proc/diskstats: malformed line \"" + std::string(TrimBlanks(line).substr(0, 80)) + "\"";
      return;
    }
    if (!is_whole_disk(f[kName])) return;
    io.read_count += reads;
    io.write_count += writes;
    io.read_bytes += sectors_read * kSectorBytes;
    io.write_bytes += sectors_written * kSectorBytes;
  });
  if (!error.empty()) return Status::Corruption(error);
  return io;
}

bool IsWholeDisk(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;  // would name /sys/block or /sys
  std::string sys = "/sys/block/" + std::string(name);
  std::replace(sys.begin() + static_cast<std::ptrdiff_t>(sizeof("/sys/block/") - 1), sys.end(), '/', '!');
  struct stat st {};
  return ::stat(sys.c_str(), &st) == 0;
}

void SetDiskIoRates(const DiskIoCounters& before, double seconds, DiskIoCounters* after) {
  auto rate = [seconds](uint64_t b, uint64_t a) {
    return seconds > 0 && a >= b ? static_cast<double>(a - b) / seconds : 0.0;
  };
  after->read_bytes_per_second = rate(before.read_bytes, after->read_bytes);
  after->write_bytes_per_second = rate(before.write_bytes, after->write_bytes);
}

}  // namespace runtrack::telemetry
