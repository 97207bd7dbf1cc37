#include "system/proc_net_dev.h"

#include <string>

#include "system/text_fields.h"

namespace runtrack::telemetry {

Result<NetworkCounters> ParseNetDev(std::string_view text) {
  // Receive has 8 counters (bytes first), then transmit has 8 (bytes first).
  constexpr size_t kRxBytes = 0, kTxBytes = 8, kCounters = 16;
  NetworkCounters net;
  std::string error;
  ForEachLine(text, [&](std::string_view line) {
    size_t colon = line.find(':');
    // Header lines ("Inter-|   Receive ...", " face |bytes ...") have no colon.
    if (colon == std::string_view::npos || !error.empty()) return;
    std::vector<std::string_view> fields = SplitFields(line.substr(colon + 1));
    NetworkInterfaceCounters nic;
    nic.name = std::string(TrimBlanks(line.substr(0, colon)));
    if (fields.size() < kCounters || nic.name.empty() || !ParseU64(fields[kRxBytes], &nic.rx_bytes) ||
        !ParseU64(fields[kTxBytes], &nic.tx_bytes)) {
      error = "/proc/net/dev: malformed line \"" + std::string(line.substr(0, 80)) + "\"";
      return;
    }
    if (nic.name != "lo") {
      net.rx_bytes += nic.rx_bytes;
      net.tx_bytes += nic.tx_bytes;
    }
    net.interfaces.push_back(std::move(nic));
  });
  if (!error.empty()) return Status::Corruption(error);
  return net;
}

void SetNetworkRates(const NetworkCounters& before, double seconds, NetworkCounters* after) {
  auto rate = [seconds](uint64_t b, uint64_t a) {
    return seconds > 0 && a >= b ? static_cast<double>(a - b) / seconds : 0.0;
  };
  after->rx_bytes_per_second = rate(before.rx_bytes, after->rx_bytes);
  after->tx_bytes_per_second = rate(before.tx_bytes, after->tx_bytes);
}

}  // namespace runtrack::telemetry
