// Parsing /proc/diskstats into disk I/O counters (psutil.disk_io_counters() definitions).
#pragma once

#include <functional>
#include <string_view>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack::telemetry {

// Sums reads, writes and bytes over the devices for which `is_whole_disk(name)` holds: a
// partition's I/O is also counted in its disk, so summing both would double it. Sectors are
// always 512 bytes in this file. Rates are left 0. Corruption when a line has fewer than 14 fields
// or a needed field is not a number.
Result<DiskIoCounters> ParseDiskstats(std::string_view text,
                                      const std::function<bool(std::string_view name)>& is_whole_disk);

// True when /sys/block/<name> exists ('/' in a name is '!' there, e.g. cciss!c0d0).
bool IsWholeDisk(std::string_view name);

// Sets after->{read,write}_bytes_per_second from `before`, `seconds` earlier; 0 for a counter that
// went backwards or seconds <= 0.
void SetDiskIoRates(const DiskIoCounters& before, double seconds, DiskIoCounters* after);

}  // namespace runtrack::telemetry
