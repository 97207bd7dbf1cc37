// SystemSampler: a thread that reads the system (and GPUs) on a fixed grid of ticks.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "runtrack/system.h"
#include "system/disk_usage.h"
#include "util/files.h"

namespace runtrack {

struct SystemSampler::Impl {
  SystemSamplerOptions options;
  Callback callback;
  SystemReader reader;
  std::unique_ptr<GpuMonitor> gpu;  // null unless include_gpus

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;  // guarded by mu
  std::thread thread;

  Impl(SystemSamplerOptions o, Callback cb)
      : options(std::move(o)), callback(std::move(cb)), reader(SystemReadOptions{options.disk_path}) {}

  Result<SystemSample> Sample() {
    SystemSample s;
    RUNTRACK_ASSIGN_OR_RETURN(s.system, reader.Read());
    if (gpu) {
      // A GPU failure (e.g. one lost) must not stop the system metrics: it becomes the reason.
      Result<GpuTelemetry> gpus = gpu->Read();
      if (gpus.ok()) {
        s.gpus = std::move(*gpus);
      } else {
        s.gpus = GpuTelemetry{};
        s.gpus->reason = gpus.status().ToString();
        s.gpus->wall_time = util::NowSeconds();
      }
    }
    return s;
  }

  void Loop() {
    using Clock = std::chrono::steady_clock;
    Clock::time_point next = Clock::now() + options.interval;
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (cv.wait_until(lock, next, [this] { return stopping; })) return;
      lock.unlock();
      callback(Sample());
      lock.lock();
      // Stay on the grid; ticks missed while sampling (or suspended) are skipped.
      Clock::time_point now = Clock::now();
      while (next <= now) next += options.interval;
    }
  }
};

SystemSampler::SystemSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<SystemSampler>> SystemSampler::Start(SystemSamplerOptions options, Callback callback) {
  if (options.interval.count() <= 0) {
    return Status::InvalidArgument("system sampler: interval must be positive, got " +
                                   std::to_string(options.interval.count()) + " ms");
  }
  if (!callback) return Status::InvalidArgument("system sampler: no callback");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(callback));
  // Fail now on a bad disk path or unreadable /proc, rather than in every sample.
  RUNTRACK_RETURN_IF_ERROR(telemetry::ReadDiskUsage(impl->options.disk_path).status());
  RUNTRACK_RETURN_IF_ERROR(impl->reader.Prime());
  if (impl->options.include_gpus) impl->gpu = GpuMonitor::Open(impl->options.gpu);
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<SystemSampler>(new SystemSampler(std::move(impl)));
}

void SystemSampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

SystemSampler::~SystemSampler() { Stop(); }

}  // namespace runtrack
