// Per-node system metrics as a run's own journal stream (docs/SYSTEM.md "Per-node system metrics"):
// RunOptions::system_metrics, NodeSystemStream, HostRunLock and SystemStreamName.
#include <catch2/catch.hpp>
#include <stdlib.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "journal/journal_reader.h"
#include "runtrack/catalog.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "runtrack/system.h"
#include "system/host_lock.h"
#include "system/node_stream.h"
#include "test_support.h"
#include "util/files.h"

using namespace runtrack;
namespace fs = std::filesystem;

namespace {

std::string Host() {
  char buf[256] = {};
  REQUIRE(::gethostname(buf, sizeof buf - 1) == 0);
  return buf;
}

// A run id no other test (or engineer running the same tests) will pick: the host lock is
// host-wide, keyed by run id.
std::string FreshRunId() {
  static unsigned counter = 0;
  return fmt::format("20261203_150000_{:06x}", (static_cast<unsigned>(::getpid()) * 16 + counter++ * 7919u +
                                                static_cast<unsigned>(std::rand())) & 0xFFFFFF);
}

struct StreamContents {
  std::map<uint32_t, std::string> names;                  // metric id -> name
  std::map<std::string, std::vector<journal::PackedPoint>> points;  // name -> points in file order
  int status_records = 0;
};

StreamContents ReadStream(const fs::path& path) {
  StreamContents c;
  auto outcome = journal::ReadJournal(path, 0, [&](journal::RecordType type, std::string_view payload) {
    if (type == journal::RecordType::kName) {
      REQUIRE(payload[4] == static_cast<char>(journal::NameKind::kMetric));
      c.names[journal::GetU32(payload.data())] = std::string(payload.substr(5));
    } else if (type == journal::RecordType::kPoints) {
      for (size_t at = 0; at + sizeof(journal::PackedPoint) <= payload.size(); at += sizeof(journal::PackedPoint)) {
        journal::PackedPoint p;
        std::memcpy(&p, payload.data() + at, sizeof p);
        c.points[c.names.at(p.metric_id)].push_back(p);
      }
    } else if (type == journal::RecordType::kStatus) {
      ++c.status_records;
    }
    return Status::Ok();
  });
  REQUIRE(outcome.ok());
  return c;
}

// The names one sample of this machine gives without GPUs: per-core CPU from /proc/stat's cpuN
// lines, disk I/O where /proc/diskstats exists.
std::set<std::string> ExpectedNamesWithoutGpu() {
  std::set<std::string> names{"system/cpu_percent",         "system/load_1m",
                              "system/memory_used_bytes",   "system/memory_percent",
                              "system/swap_percent",        "system/disk_used_bytes",
                              "system/disk_percent",        "system/network_rx_bytes_per_second",
                              "system/network_tx_bytes_per_second"};
  auto stat = util::ReadFile("/proc/stat");
  REQUIRE(stat.ok());
  int cores = 0;
  for (size_t at = 0; (at = stat->find("\ncpu", at)) != std::string::npos; ++at)
    if (at + 4 < stat->size() && std::isdigit(static_cast<unsigned char>((*stat)[at + 4]))) ++cores;
  REQUIRE(cores > 0);
  for (int i = 0; i < cores; ++i) names.insert(fmt::format("system/cpu{}_percent", i));
  if (fs::exists("/proc/diskstats")) {
    names.insert("system/disk_read_bytes_per_second");
    names.insert("system/disk_write_bytes_per_second");
  }
  return names;
}

std::set<std::string> Names(const StreamContents& c) {
  std::set<std::string> out;
  for (const auto& [id, n] : c.names) out.insert(n);
  return out;
}

// Counts samples written (NodeStreamOptions::after_sample); Wait's deadline only stops a broken
// sampler from hanging the run, it is not a timing check.
struct SampleCounter {
  std::mutex mu;
  std::condition_variable cv;
  int64_t samples = 0;
  std::function<void(int64_t)> Hook() {
    return [this](int64_t n) {
      std::lock_guard g(mu);
      samples = n;
      cv.notify_all();
    };
  }
  bool Wait(int64_t n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, std::chrono::seconds(60), [&] { return samples >= n; });
  }
};

struct ScopedEnv {
  std::string name;
  ScopedEnv(const char* n, const std::string& value) : name(n) { ::setenv(n, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("system stream name: the hostname made a valid journal stream", "[system][node_stream]") {
  CHECK(SystemStreamName("gpu-node-01") == "system:gpu-node-01");
  CHECK(SystemStreamName("node7.cluster.example") == "system:node7.cluster.example");
  CHECK(SystemStreamName("") == "system:unknown");
  CHECK(SystemStreamName("a b@c/../d") == "system:a-b-c-..-d");
  const std::string long_host(80, 'h');
  CHECK(SystemStreamName(long_host) == "system:" + std::string(57, 'h'));
  for (const char* h : {"gpu-node-01", "", "a b@c/../d", "..", "\xff\xfe"}) CHECK(ValidateJournalStream(SystemStreamName(h)).ok());
  CHECK(ValidateJournalStream(SystemStreamName(long_host)).ok());
}

TEST_CASE("node stream: a run sampled for 2.5 s has a system:<host> stream of exact names, values in range",
          "[system][node_stream]") {
  testing::TempDir dir;
  auto store = Store::Open(dir.path());
  REQUIRE(store.ok());
  RunOptions o;
  o.system_metrics = true;
  const double before = util::NowSeconds();
  auto run = (*store)->CreateRun(o);
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Log(1, "loss", 0.5).ok());
  const std::string stream = SystemStreamName(Host());
  const fs::path path = (*store)->layout().stream_journal_path(id, stream);
  REQUIRE(fs::exists(path));
  // 2.5 s on the sampler's 1 s grid is 2 samples; on a machine too loaded for that, wait for them
  // (the bound only stops a broken sampler from hanging the run: no timing is asserted).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  for (int i = 0; i < 600 && ReadStream(path).points["system/cpu_percent"].size() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE((*run)->Finish().ok());
  const double after = util::NowSeconds();

  CHECK_FALSE(fs::exists((*store)->layout().system_ship_root(id)));  // no shipping: no shipping copy
  StreamContents c = ReadStream(path);
  CHECK(Names(c) == ExpectedNamesWithoutGpu());
  CHECK(c.status_records == 1);  // the stream ended with the run
  const auto& cpu = c.points["system/cpu_percent"];
  REQUIRE(cpu.size() >= 2);
  for (size_t i = 0; i < cpu.size(); ++i) {
    CHECK(cpu[i].step == static_cast<int64_t>(i + 1));
    CHECK(cpu[i].stage_id == 0);
    CHECK(cpu[i].value >= 0.0);
    CHECK(cpu[i].value <= 100.0);
    CHECK(cpu[i].wall_time >= before);
    CHECK(cpu[i].wall_time <= after);
  }
  for (const auto& [name, points] : c.points) CHECK(points.size() == cpu.size());  // every name every sample
  for (const auto& p : c.points["system/memory_percent"]) {
    CHECK(p.value > 0.0);
    CHECK(p.value <= 100.0);
  }
  for (const auto& p : c.points["system/memory_used_bytes"]) CHECK(p.value > 0.0);
  for (const auto& p : c.points["system/disk_percent"]) {
    CHECK(p.value > 0.0);
    CHECK(p.value <= 100.0);
  }
  for (const auto& p : c.points["system/network_rx_bytes_per_second"]) CHECK(p.value >= 0.0);

  // The catalog merges it as one more stream of the run; the run's own metrics stay stream "0".
  auto catalog = Catalog::Open(dir.path());
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto streams = (*catalog)->ListStreams(id);
  REQUIRE(streams.ok());
  REQUIRE(streams->size() == 2);
  CHECK((*streams)[0].stream == "0");
  CHECK((*streams)[0].points == 1);
  CHECK((*streams)[1].stream == stream);
  CHECK((*streams)[1].ended);
  CHECK((*streams)[1].points == cpu.size() * c.names.size());
  auto merged = (*catalog)->ReadMetricStreams(id, "system/cpu_percent");
  REQUIRE(merged.ok());
  REQUIRE(merged->size() == 1);
  CHECK((*merged)[0].stream == stream);
  REQUIRE((*merged)[0].points.size() == cpu.size());
  CHECK((*merged)[0].points[0].value == cpu[0].value);
  auto loss = (*catalog)->ReadMetricStreams(id, "loss");
  REQUIRE(loss.ok());
  REQUIRE(loss->size() == 1);
  CHECK((*loss)[0].stream == "0");
  // The host lock is gone with the run.
  CHECK_FALSE(fs::exists(telemetry::HostRunLock::DefaultDir() / fmt::format("runicorn-system-{}.lock", id)));
}

TEST_CASE("node stream: with the fake NVML, GPU metrics carry the fake's exact values", "[system][node_stream]") {
  testing::TempDir dir;
  ScopedEnv devices("FAKE_NVML_DEVICES", "NVIDIA L4:23034:2048:12:4:50:30000:72000:-");
  ScopedEnv library("RUNICORN_NVML_LIBRARY", FAKE_NVML_PATH);
  auto store = Store::Open(dir.path() / "store");
  REQUIRE(store.ok());
  const std::string id = FreshRunId();
  REQUIRE(util::CreateDirectories((*store)->layout().run_dir(id)).ok());
  SampleCounter counter;
  telemetry::NodeStreamOptions o;
  o.interval = std::chrono::milliseconds(50);
  o.lock_dir = dir.path();
  o.after_sample = counter.Hook();
  auto node = telemetry::NodeSystemStream::Start((*store)->layout(), id, o);
  REQUIRE(node.ok());
  REQUIRE(*node != nullptr);
  REQUIRE(counter.Wait(2));
  REQUIRE((*node)->Stop().ok());
  CHECK((*node)->Drain(std::chrono::milliseconds(0)).ok());  // not shipping: nothing to wait for

  StreamContents c = ReadStream((*store)->layout().stream_journal_path(id, (*node)->stream()));
  std::set<std::string> expected = ExpectedNamesWithoutGpu();
  for (const char* n : {"utilization_percent", "memory_utilization_percent", "memory_used_bytes", "memory_percent",
                        "temperature_celsius", "power_watts"})
    expected.insert(fmt::format("system/gpu0_{}", n));  // no fan: the fake says "not supported"
  CHECK(Names(c) == expected);
  REQUIRE(c.points["system/gpu0_utilization_percent"].size() >= 2);
  for (const auto& p : c.points["system/gpu0_utilization_percent"]) CHECK(p.value == 12.0);
  for (const auto& p : c.points["system/gpu0_memory_utilization_percent"]) CHECK(p.value == 4.0);
  for (const auto& p : c.points["system/gpu0_memory_used_bytes"]) CHECK(p.value == 2048.0 * 1048576.0);
  for (const auto& p : c.points["system/gpu0_memory_percent"]) CHECK(p.value == 100.0 * 2048.0 / 23034.0);
  for (const auto& p : c.points["system/gpu0_temperature_celsius"]) CHECK(p.value == 50.0);
  for (const auto& p : c.points["system/gpu0_power_watts"]) CHECK(p.value == 30.0);
}

TEST_CASE("node stream: two ranks of one run on one host give one system stream", "[system][node_stream]") {
  testing::TempDir dir;
  // DDP ranks sharing a machine: the same run id, each rank in its own store root.
  auto rank0 = Store::Open(dir.path() / "rank0");
  auto rank1 = Store::Open(dir.path() / "rank1");
  REQUIRE(rank0.ok());
  REQUIRE(rank1.ok());
  RunOptions o;
  o.run_id = FreshRunId();
  o.system_metrics = true;
  o.system_metrics_interval = std::chrono::milliseconds(50);
  auto first = (*rank0)->CreateRun(o);
  REQUIRE(first.ok());
  o.stream = "1";
  auto second = (*rank1)->CreateRun(o);
  REQUIRE(second.ok());
  const std::string stream = SystemStreamName(Host());
  CHECK(fs::exists((*rank0)->layout().stream_journal_path(o.run_id, stream)));
  CHECK_FALSE(fs::exists((*rank1)->layout().stream_journal_path(o.run_id, stream)));
  // While the first holds it, nobody else on this host gets the lock.
  auto third = telemetry::HostRunLock::TryAcquire({}, o.run_id);
  REQUIRE(third.ok());
  CHECK(*third == nullptr);
  REQUIRE((*second)->Finish().ok());
  REQUIRE((*first)->Finish().ok());
  StreamContents c = ReadStream((*rank0)->layout().stream_journal_path(o.run_id, stream));
  CHECK(c.status_records == 1);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator((*rank1)->layout().run_dir(o.run_id)))
    files += e.path().filename().string().rfind("journal.", 0) == 0;
  CHECK(files == 0);
  // Released with the first run: a later process may take it.
  auto after = telemetry::HostRunLock::TryAcquire({}, o.run_id);
  REQUIRE(after.ok());
  CHECK(*after != nullptr);
}

TEST_CASE("node stream: RUNICORN_SYSTEM_METRICS turns it on, a bad value or interval is refused", "[system][node_stream]") {
  testing::TempDir dir;
  auto store = Store::Open(dir.path());
  REQUIRE(store.ok());
  const std::string stream = SystemStreamName(Host());
  {
    ScopedEnv on("RUNICORN_SYSTEM_METRICS", "true");
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    CHECK(fs::exists((*store)->layout().stream_journal_path((*run)->id(), stream)));
    RunOptions off;
    off.system_metrics = false;  // the option wins over the environment
    auto quiet = (*store)->CreateRun(off);
    REQUIRE(quiet.ok());
    CHECK_FALSE(fs::exists((*store)->layout().stream_journal_path((*quiet)->id(), stream)));
  }
  {
    ScopedEnv zero("RUNICORN_SYSTEM_METRICS", "0");
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    CHECK_FALSE(fs::exists((*store)->layout().stream_journal_path((*run)->id(), stream)));
  }
  size_t runs_before = 0;
  for (const auto& e : fs::directory_iterator((*store)->runs_dir())) runs_before += e.is_directory();
  {
    ScopedEnv bad("RUNICORN_SYSTEM_METRICS", "maybe");
    auto run = (*store)->CreateRun({});
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().code() == StatusCode::kInvalidArgument);
    CHECK(run.status().message() == "RUNICORN_SYSTEM_METRICS must be 1/true/yes/on or 0/false/no/off, got 'maybe'");
  }
  RunOptions zero_interval;
  zero_interval.system_metrics = true;
  zero_interval.system_metrics_interval = std::chrono::milliseconds(0);
  auto refused = (*store)->CreateRun(zero_interval);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kInvalidArgument);
  CHECK(refused.status().message() == "system metrics: interval must be positive, got 0 ms");
  size_t runs_after = 0;
  for (const auto& e : fs::directory_iterator((*store)->runs_dir())) runs_after += e.is_directory();
  CHECK(runs_after == runs_before);  // nothing partial stays behind
}

TEST_CASE("host lock: one holder per run id, a stale file from a dead holder is taken over", "[system][node_stream]") {
  testing::TempDir dir;
  const std::string id = FreshRunId();
  auto a = telemetry::HostRunLock::TryAcquire(dir.path(), id);
  REQUIRE(a.ok());
  REQUIRE(*a != nullptr);
  CHECK((*a)->path() == dir.path() / fmt::format("runicorn-system-{}.lock", id));
  auto b = telemetry::HostRunLock::TryAcquire(dir.path(), id);
  REQUIRE(b.ok());
  CHECK(*b == nullptr);
  auto other = telemetry::HostRunLock::TryAcquire(dir.path(), FreshRunId());
  REQUIRE(other.ok());
  CHECK(*other != nullptr);  // another run on the same host has its own
  a->reset();
  CHECK_FALSE(fs::exists(dir.path() / fmt::format("runicorn-system-{}.lock", id)));
  // A holder killed before it could unlink leaves the file, but not the flock.
  REQUIRE(util::WriteFileAtomic(dir.path() / fmt::format("runicorn-system-{}.lock", id), "", false).ok());
  auto c = telemetry::HostRunLock::TryAcquire(dir.path(), id);
  REQUIRE(c.ok());
  CHECK(*c != nullptr);
  auto missing = telemetry::HostRunLock::TryAcquire(dir.path() / "no-such-dir", id);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
}
