// SystemSampler (background sampling) and SystemMetricValues (a sample as run metrics).
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "runtrack/system.h"
#include "test_support.h"
#include "util/validation.h"

using namespace runtrack;

namespace {

// Collects callback results; Wait blocks until `n` arrived (the deadline only stops a broken
// sampler from hanging the test run, it is not a timing check).
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Result<SystemSample>> samples;
  std::vector<std::thread::id> threads;

  SystemSampler::Callback Callback() {
    return [this](const Result<SystemSample>& s) {
      std::lock_guard<std::mutex> lock(mu);
      samples.push_back(s);
      threads.push_back(std::this_thread::get_id());
      cv.notify_all();
    };
  }
  bool Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return samples.size() >= n; });
  }
  // Blocks until pred(samples) holds (same deadline as Wait).
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(30), [&] { return pred(samples); });
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return samples.size();
  }
};

}  // namespace

TEST_CASE("sampler: samples arrive on the sampler's thread until Stop", "[sampler]") {
  ::setenv("FAKE_NVML_DEVICES", "NVIDIA L4:23034:2048:12:4:50:30000:72000:-", 1);
  Collector c;
  SystemSamplerOptions o;
  o.interval = std::chrono::milliseconds(20);
  o.gpu.library_path = FAKE_NVML_PATH;
  Result<std::unique_ptr<SystemSampler>> sampler = SystemSampler::Start(o, c.Callback());
  REQUIRE(sampler.ok());
  REQUIRE(c.Wait(3));
  (*sampler)->Stop();
  size_t after_stop = c.Count();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // five intervals: none may come
  CHECK(c.Count() == after_stop);
  (*sampler)->Stop();  // a second Stop does nothing
  ::unsetenv("FAKE_NVML_DEVICES");

  double last_time = 0;
  for (size_t i = 0; i < c.samples.size(); ++i) {
    REQUIRE(c.samples[i].ok());
    const SystemSample& s = *c.samples[i];
    CHECK(c.threads[i] != std::this_thread::get_id());
    CHECK(s.system.wall_time > last_time);
    last_time = s.system.wall_time;
    CHECK(s.system.memory.total_bytes > 0);
    CHECK(s.system.disk.path == "/");
    REQUIRE(s.gpus.has_value());
    CHECK(s.gpus->available);
    REQUIRE(s.gpus->gpus.size() == 1);
    CHECK(s.gpus->gpus[0].name == "NVIDIA L4");
    CHECK(s.gpus->gpus[0].power_draw_watts == 30.0);
  }
}

TEST_CASE("sampler: a GPU read error keeps the system sample and gives the reason", "[sampler]") {
  ::setenv("FAKE_NVML_DEVICES", "NVIDIA L4:23034:2048:12", 1);
  ::setenv("FAKE_NVML_MODE", "count_fails", 1);
  Collector c;
  SystemSamplerOptions o;
  o.interval = std::chrono::milliseconds(10);
  o.gpu.library_path = FAKE_NVML_PATH;
  Result<std::unique_ptr<SystemSampler>> sampler = SystemSampler::Start(o, c.Callback());
  REQUIRE(sampler.ok());
  REQUIRE(c.Wait(1));
  sampler->reset();
  ::unsetenv("FAKE_NVML_MODE");
  ::unsetenv("FAKE_NVML_DEVICES");
  REQUIRE(c.samples[0].ok());
  CHECK(c.samples[0]->system.memory.total_bytes > 0);
  REQUIRE(c.samples[0]->gpus.has_value());
  CHECK_FALSE(c.samples[0]->gpus->available);
  CHECK(c.samples[0]->gpus->reason ==
        "io_error: nvmlDeviceGetCount_v2 failed: Unknown Error (NVML error 999)");
  CHECK(c.samples[0]->gpus->gpus.empty());
}

TEST_CASE("sampler: a failed sample is passed as its error and sampling goes on", "[sampler]") {
  runtrack::testing::TempDir dir;
  std::filesystem::path disk = dir.path() / "volume";
  std::filesystem::create_directories(disk);
  Collector c;
  SystemSamplerOptions o;
  o.interval = std::chrono::milliseconds(10);
  o.include_gpus = false;
  o.disk_path = disk.string();
  Result<std::unique_ptr<SystemSampler>> sampler = SystemSampler::Start(o, c.Callback());
  REQUIRE(sampler.ok());
  REQUIRE(c.Wait(1));
  std::filesystem::remove(disk);
  using Samples = std::vector<Result<SystemSample>>;
  REQUIRE(c.WaitFor([](const Samples& s) { return !s.back().ok(); }));
  std::filesystem::create_directories(disk);
  REQUIRE(c.WaitFor([](const Samples& s) { return s.back().ok(); }));
  sampler->reset();

  CHECK(c.samples.front().ok());
  auto failed = std::find_if(c.samples.begin(), c.samples.end(), [](const auto& r) { return !r.ok(); });
  REQUIRE(failed != c.samples.end());
  CHECK(failed->status().code() == StatusCode::kNotFound);
  CHECK(failed->status().message() == "statvfs " + disk.string() + ": No such file or directory");
  CHECK(c.samples.back()->system.disk.path == disk.string());
}

TEST_CASE("sampler: without GPUs the samples carry none", "[sampler]") {
  Collector c;
  SystemSamplerOptions o;
  o.interval = std::chrono::milliseconds(10);
  o.include_gpus = false;
  Result<std::unique_ptr<SystemSampler>> sampler = SystemSampler::Start(o, c.Callback());
  REQUIRE(sampler.ok());
  REQUIRE(c.Wait(1));
  sampler->reset();  // destruction stops the thread
  REQUIRE(c.samples[0].ok());
  CHECK_FALSE(c.samples[0]->gpus.has_value());
}

TEST_CASE("sampler: bad options are refused before a thread starts", "[sampler]") {
  Collector c;
  SystemSamplerOptions zero;
  zero.interval = std::chrono::milliseconds(0);
  Result<std::unique_ptr<SystemSampler>> r = SystemSampler::Start(zero, c.Callback());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == "system sampler: interval must be positive, got 0 ms");

  Result<std::unique_ptr<SystemSampler>> no_callback = SystemSampler::Start({}, nullptr);
  REQUIRE_FALSE(no_callback.ok());
  CHECK(no_callback.status().message() == "system sampler: no callback");

  SystemSamplerOptions bad_disk;
  bad_disk.disk_path = "/nonexistent-runtrack-dir";
  Result<std::unique_ptr<SystemSampler>> d = SystemSampler::Start(bad_disk, c.Callback());
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == StatusCode::kNotFound);
  CHECK(d.status().message() == "statvfs /nonexistent-runtrack-dir: No such file or directory");
  CHECK(c.Count() == 0);
}

TEST_CASE("metric values: names and values of a sample", "[sampler]") {
  SystemSample s;
  s.system.cpu.percent = 43.75;
  s.system.cpu.per_core_percent = {75.0, 12.5};
  s.system.load.one_minute = 1.5;
  s.system.memory.used_bytes = 8448000000;
  s.system.memory.percent = 37.5;
  s.system.memory.swap_percent = 25.0;
  s.system.disk.used_bytes = 2867200;
  s.system.disk.percent = 70.0;
  s.system.network.rx_bytes_per_second = 4000.0;
  s.system.network.tx_bytes_per_second = 10.0;
  GpuTelemetry gpus;
  gpus.available = true;
  GpuDevice g;
  g.index = 3;
  g.utilization_gpu_percent = 55;
  g.utilization_memory_percent = 30;
  g.memory_total_bytes = 4000;
  g.memory_used_bytes = 1000;
  g.temperature_celsius = 41;
  g.power_draw_watts = 250.5;  // fan unset: no fan metric
  gpus.gpus.push_back(g);
  s.gpus = gpus;

  std::vector<std::pair<std::string, double>> expected = {
      {"system/cpu_percent", 43.75},
      {"system/cpu0_percent", 75.0},
      {"system/cpu1_percent", 12.5},
      {"system/load_1m", 1.5},
      {"system/memory_used_bytes", 8448000000.0},
      {"system/memory_percent", 37.5},
      {"system/swap_percent", 25.0},
      {"system/disk_used_bytes", 2867200.0},
      {"system/disk_percent", 70.0},
      {"system/network_rx_bytes_per_second", 4000.0},
      {"system/network_tx_bytes_per_second", 10.0},
      {"system/gpu3_utilization_percent", 55.0},
      {"system/gpu3_memory_utilization_percent", 30.0},
      {"system/gpu3_memory_used_bytes", 1000.0},
      {"system/gpu3_memory_percent", 25.0},
      {"system/gpu3_temperature_celsius", 41.0},
      {"system/gpu3_power_watts", 250.5},
  };
  std::vector<std::pair<std::string, double>> values = SystemMetricValues(s);
  CHECK(values == expected);
  for (const auto& [name, value] : values) CHECK(util::CheckMetricName(name).ok());

  s.gpus->available = false;
  CHECK(SystemMetricValues(s).size() == 11);  // no GPU entries
  s.gpus.reset();
  CHECK(SystemMetricValues(s).size() == 11);

  s.system.disk_io = DiskIoCounters{};
  s.system.disk_io->read_bytes_per_second = 512.0;
  s.system.disk_io->write_bytes_per_second = 1024.0;
  std::vector<std::pair<std::string, double>> with_io = SystemMetricValues(s);
  REQUIRE(with_io.size() == 13);
  CHECK(with_io[9] == std::pair<std::string, double>("system/disk_read_bytes_per_second", 512.0));
  CHECK(with_io[10] == std::pair<std::string, double>("system/disk_write_bytes_per_second", 1024.0));
  CHECK(with_io[11].first == "system/network_rx_bytes_per_second");
}
