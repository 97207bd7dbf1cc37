// GPU telemetry through the fake NVML (tests/system/fake_nvml/), whose devices come from
// FAKE_NVML_DEVICES, and through libraries that are missing, incomplete or fail to initialise.
#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <stdlib.h>

#include <string>

#include "runtrack/system.h"

using namespace runtrack;

namespace {

constexpr uint64_t kMiB = 1024ull * 1024ull;

constexpr const char* kTwoGpus =
    "NVIDIA A100-SXM4-80GB:81920:40960:55:30:41:250000:400000:-:1234/2048+5678/-,"
    "NVIDIA GeForce RTX 4090:24564:1024:7:3:38:35500:450000:30";

// Sets the fake's environment for one test and clears it afterwards.
struct FakeEnv {
  FakeEnv(const char* devices, const char* mode = nullptr) {
    ::setenv("FAKE_NVML_DEVICES", devices, 1);
    if (mode) ::setenv("FAKE_NVML_MODE", mode, 1);
    else ::unsetenv("FAKE_NVML_MODE");
  }
  ~FakeEnv() {
    ::unsetenv("FAKE_NVML_DEVICES");
    ::unsetenv("FAKE_NVML_MODE");
    ::unsetenv("RUNICORN_NVML_LIBRARY");
  }
};

// A second handle on a fake library: keeps it loaded across monitors and reads its counters.
struct FakeProbe {
  explicit FakeProbe(const char* path) : handle(::dlopen(path, RTLD_NOW | RTLD_LOCAL)) {
    REQUIRE(handle != nullptr);
    init_calls = reinterpret_cast<int (*)()>(::dlsym(handle, "fake_nvml_init_calls"));
    active = reinterpret_cast<int (*)()>(::dlsym(handle, "fake_nvml_active"));
    shutdown_calls = reinterpret_cast<int (*)()>(::dlsym(handle, "fake_nvml_shutdown_calls"));
    REQUIRE(init_calls != nullptr);
    REQUIRE(shutdown_calls != nullptr);
    REQUIRE(active != nullptr);
  }
  ~FakeProbe() { ::dlclose(handle); }
  void* handle;
  int (*init_calls)();
  int (*active)();
  int (*shutdown_calls)();
};

std::unique_ptr<GpuMonitor> OpenFake(const char* path) {
  GpuMonitorOptions o;
  o.library_path = path;
  return GpuMonitor::Open(o);
}

}  // namespace

TEST_CASE("gpu: every reading of every fake device comes through exactly", "[gpu]") {
  FakeEnv env(kTwoGpus);
  auto monitor = OpenFake(FAKE_NVML_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK(r->available);
  CHECK(r->reason.empty());
  CHECK(r->wall_time > 0);
  REQUIRE(r->gpus.size() == 2);

  const GpuDevice& a = r->gpus[0];
  CHECK(a.index == 0);
  CHECK(a.name == "NVIDIA A100-SXM4-80GB");
  CHECK(a.uuid == "GPU-fake-0");
  CHECK(a.utilization_gpu_percent == 55u);
  CHECK(a.utilization_memory_percent == 30u);
  CHECK(a.memory_total_bytes == 81920 * kMiB);
  CHECK(a.memory_used_bytes == 40960 * kMiB);
  CHECK(a.memory_free_bytes == 40960 * kMiB);
  CHECK(a.temperature_celsius == 41u);
  CHECK(a.power_draw_watts == 250.0);
  CHECK(a.power_limit_watts == 400.0);
  CHECK_FALSE(a.fan_speed_percent.has_value());  // NOT_SUPPORTED: a passively cooled GPU
  REQUIRE(a.processes.has_value());
  REQUIRE(a.processes->size() == 2);
  CHECK((*a.processes)[0].pid == 1234);
  CHECK((*a.processes)[0].used_memory_bytes == 2048 * kMiB);
  CHECK((*a.processes)[1].pid == 5678);
  CHECK_FALSE((*a.processes)[1].used_memory_bytes.has_value());  // NVML_VALUE_NOT_AVAILABLE

  const GpuDevice& b = r->gpus[1];
  CHECK(b.index == 1);
  CHECK(b.name == "NVIDIA GeForce RTX 4090");
  CHECK(b.uuid == "GPU-fake-1");
  CHECK(b.memory_free_bytes == (24564 - 1024) * kMiB);
  CHECK(b.power_draw_watts == 35.5);
  CHECK(b.fan_speed_percent == 30u);
  REQUIRE(b.processes.has_value());
  CHECK(b.processes->empty());
}

TEST_CASE("gpu: unsupported readings are unset, the others still reported", "[gpu]") {
  FakeEnv env("Tesla K80:11441:0:-");
  auto monitor = OpenFake(FAKE_NVML_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  REQUIRE(r->gpus.size() == 1);
  const GpuDevice& g = r->gpus[0];
  CHECK(g.name == "Tesla K80");
  CHECK(g.memory_total_bytes == 11441 * kMiB);
  CHECK(g.memory_used_bytes == 0u);
  CHECK_FALSE(g.utilization_gpu_percent.has_value());
  CHECK_FALSE(g.utilization_memory_percent.has_value());
  CHECK_FALSE(g.temperature_celsius.has_value());
  CHECK_FALSE(g.power_draw_watts.has_value());
  CHECK_FALSE(g.power_limit_watts.has_value());
  CHECK_FALSE(g.fan_speed_percent.has_value());
}

TEST_CASE("gpu: more processes than the first buffer holds are all listed", "[gpu]") {
  std::string procs;
  for (int i = 0; i < 40; ++i) procs += (i ? "+" : "") + std::to_string(1000 + i) + "/" + std::to_string(i);
  std::string spec = "H100:81559:1000:90:50:60:600000:700000:-:" + procs;
  FakeEnv env(spec.c_str());
  auto monitor = OpenFake(FAKE_NVML_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  REQUIRE(r->gpus.size() == 1);
  REQUIRE(r->gpus[0].processes.has_value());
  const std::vector<GpuProcess>& p = *r->gpus[0].processes;
  REQUIRE(p.size() == 40);
  CHECK(p.front().pid == 1000);
  CHECK(p.back().pid == 1039);
  CHECK(p.back().used_memory_bytes == 39 * kMiB);
}

TEST_CASE("gpu: no devices is available with an empty list", "[gpu]") {
  FakeEnv env("");
  auto monitor = OpenFake(FAKE_NVML_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK(r->available);
  CHECK(r->gpus.empty());
}

TEST_CASE("gpu: NVML is initialised once per monitor and shut down with it", "[gpu]") {
  FakeEnv env(kTwoGpus);
  FakeProbe probe(FAKE_NVML_PATH);
  int calls_before = probe.init_calls();
  int active_before = probe.active();  // the process-wide monitor may hold one reference
  int shutdowns_before = probe.shutdown_calls();
  {
    auto monitor = OpenFake(FAKE_NVML_PATH);
    for (int i = 0; i < 3; ++i) REQUIRE(monitor->Read().ok());
    CHECK(probe.init_calls() == calls_before + 1);
    CHECK(probe.active() == active_before + 1);
  }
  CHECK(probe.active() == active_before);
  CHECK(probe.shutdown_calls() == shutdowns_before + 1);
}

TEST_CASE("gpu: a missing library is unavailable with the dlopen error", "[gpu]") {
  auto monitor = OpenFake("/nonexistent/libnvidia-ml.so.1");
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK_FALSE(r->available);
  CHECK(r->gpus.empty());
  CHECK(r->reason ==
        "cannot load NVML (/nonexistent/libnvidia-ml.so.1): /nonexistent/libnvidia-ml.so.1: cannot open shared "
        "object file: No such file or directory");
}

TEST_CASE("gpu: a library without a required symbol is unavailable and never initialised", "[gpu]") {
  FakeEnv env(kTwoGpus);
  FakeProbe probe(FAKE_NVML_NO_MEMORY_INFO_PATH);
  auto monitor = OpenFake(FAKE_NVML_NO_MEMORY_INFO_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK_FALSE(r->available);
  std::string path = FAKE_NVML_NO_MEMORY_INFO_PATH;
  CHECK(r->reason == "symbol nvmlDeviceGetMemoryInfo missing from NVML (" + path + "): " + path +
                         ": undefined symbol: nvmlDeviceGetMemoryInfo");
  CHECK(probe.init_calls() == 0);
}

TEST_CASE("gpu: without the process query the devices are read and processes unset", "[gpu]") {
  FakeEnv env(kTwoGpus);
  auto monitor = OpenFake(FAKE_NVML_NO_PROCESSES_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK(r->available);
  REQUIRE(r->gpus.size() == 2);
  CHECK(r->gpus[0].memory_used_bytes == 40960 * kMiB);
  CHECK_FALSE(r->gpus[0].processes.has_value());
  CHECK_FALSE(r->gpus[1].processes.has_value());
}

TEST_CASE("gpu: a failing nvmlInit_v2 is unavailable with NVML's error text", "[gpu]") {
  FakeEnv env(kTwoGpus, "init_fails");
  FakeProbe probe(FAKE_NVML_PATH);
  int active_before = probe.active();
  int shutdowns_before = probe.shutdown_calls();
  auto monitor = OpenFake(FAKE_NVML_PATH);
  Result<GpuTelemetry> r = monitor->Read();
  REQUIRE(r.ok());
  CHECK_FALSE(r->available);
  CHECK(r->reason == "nvmlInit_v2 failed: Driver Not Loaded (NVML error 9)");
  monitor.reset();
  CHECK(probe.active() == active_before);
  CHECK(probe.shutdown_calls() == shutdowns_before);  // no nvmlShutdown without a successful init
}

TEST_CASE("gpu: device count or handle failures are IOErrors naming the call", "[gpu]") {
  {
    FakeEnv env(kTwoGpus, "count_fails");
    Result<GpuTelemetry> r = OpenFake(FAKE_NVML_PATH)->Read();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kIOError);
    CHECK(r.status().message() == "nvmlDeviceGetCount_v2 failed: Unknown Error (NVML error 999)");
  }
  {
    FakeEnv env(kTwoGpus, "handle_fails");
    Result<GpuTelemetry> r = OpenFake(FAKE_NVML_PATH)->Read();
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kIOError);
    CHECK(r.status().message() == "nvmlDeviceGetHandleByIndex_v2(0) failed: GPU is lost (NVML error 15)");
  }
}

TEST_CASE("gpu: the library path defaults to RUNICORN_NVML_LIBRARY, then libnvidia-ml.so.1", "[gpu]") {
  FakeEnv env(kTwoGpus);
  ::unsetenv("RUNICORN_NVML_LIBRARY");
  auto system_default = GpuMonitor::Open();
  CHECK(system_default->library_path() == "libnvidia-ml.so.1");
  Result<GpuTelemetry> d = system_default->Read();
  REQUIRE(d.ok());
  // This machine and CI have no NVIDIA driver; where one exists the read must simply succeed.
  if (!d->available) {
    CHECK(d->reason.rfind("cannot load NVML (libnvidia-ml.so.1): libnvidia-ml.so.1: ", 0) == 0);
  }

  ::setenv("RUNICORN_NVML_LIBRARY", FAKE_NVML_PATH, 1);
  auto from_env = GpuMonitor::Open();
  CHECK(from_env->library_path() == FAKE_NVML_PATH);
  Result<GpuTelemetry> r = from_env->Read();
  REQUIRE(r.ok());
  CHECK(r->available);
  CHECK(r->gpus.size() == 2);
}

TEST_CASE("gpu: the process-wide telemetry opens NVML once and keeps it", "[gpu]") {
  FakeEnv env(kTwoGpus);
  ::setenv("RUNICORN_NVML_LIBRARY", FAKE_NVML_PATH, 1);
  FakeProbe probe(FAKE_NVML_PATH);
  int calls_before = probe.init_calls();
  Result<GpuTelemetry> first = ReadGpuTelemetry();
  Result<GpuTelemetry> second = ReadGpuTelemetry();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->available);
  CHECK(second->gpus.size() == 2);
  CHECK(probe.init_calls() == calls_before + 1);
  CHECK(probe.active() >= 1);  // never shut down
}
