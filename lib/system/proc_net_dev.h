// Parsing /proc/net/dev (per-interface byte counters) and byte rates between two samples.
#pragma once

#include <string_view>

#include "runtrack/status.h"
#include "runtrack/system.h"

namespace runtrack::telemetry {

// Counters per interface and summed over every interface except `lo`; the rates are left 0.
// The two header lines are skipped; Corruption when an interface line has fewer than 16 counters
// or a counter is not a number.
Result<NetworkCounters> ParseNetDev(std::string_view text);

// Sets after->{rx,tx}_bytes_per_second from the totals of `before`, `seconds` earlier. A counter
// that went backwards (interface removed or reset) gives 0, as does seconds <= 0.
void SetNetworkRates(const NetworkCounters& before, double seconds, NetworkCounters* after);

}  // namespace runtrack::telemetry
