// SystemMetricValues: a sample flattened into metric names for a run.
#include <fmt/format.h>

#include "runtrack/system.h"

namespace runtrack {

std::vector<std::pair<std::string, double>> SystemMetricValues(const SystemSample& sample) {
  std::vector<std::pair<std::string, double>> out;
  auto add = [&out](std::string name, double value) { out.emplace_back(std::move(name), value); };
  const SystemSnapshot& s = sample.system;
  add("system/cpu_percent", s.cpu.percent);
  for (size_t i = 0; i < s.cpu.per_core_percent.size(); ++i) {
    add(fmt::format("system/cpu{}_percent", i), s.cpu.per_core_percent[i]);
  }
  add("system/load_1m", s.load.one_minute);
  add("system/memory_used_bytes", static_cast<double>(s.memory.used_bytes));
  add("system/memory_percent", s.memory.percent);
  add("system/swap_percent", s.memory.swap_percent);
  add("system/disk_used_bytes", static_cast<double>(s.disk.used_bytes));
  add("system/disk_percent", s.disk.percent);
  if (s.disk_io) {
    add("system/disk_read_bytes_per_second", s.disk_io->read_bytes_per_second);
    add("system/disk_write_bytes_per_second", s.disk_io->write_bytes_per_second);
  }
  add("system/network_rx_bytes_per_second", s.network.rx_bytes_per_second);
  add("system/network_tx_bytes_per_second", s.network.tx_bytes_per_second);
  if (!sample.gpus || !sample.gpus->available) return out;
  for (const GpuDevice& g : sample.gpus->gpus) {
    auto add_gpu = [&](std::string_view what, auto value) {
      if (value) add(fmt::format("system/gpu{}_{}", g.index, what), static_cast<double>(*value));
    };
    add_gpu("utilization_percent", g.utilization_gpu_percent);
    add_gpu("memory_utilization_percent", g.utilization_memory_percent);
    add_gpu("memory_used_bytes", g.memory_used_bytes);
    if (g.memory_used_bytes && g.memory_total_bytes && *g.memory_total_bytes > 0) {
      add(fmt::format("system/gpu{}_memory_percent", g.index),
          100.0 * static_cast<double>(*g.memory_used_bytes) / static_cast<double>(*g.memory_total_bytes));
    }
    add_gpu("temperature_celsius", g.temperature_celsius);
    add_gpu("power_watts", g.power_draw_watts);
    add_gpu("fan_percent", g.fan_speed_percent);
  }
  return out;
}

}  // namespace runtrack
