#include "tasks/gpu_slots.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

namespace runtrack::tasks {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    pos = end + 1;
  }
  return out;
}

std::string SlotKey(const GpuSlotInfo& g) {
  // UUIDs survive reordering of devices; fall back to the index. Only [A-Za-z0-9-] reach a path.
  std::string key = g.uuid.empty() ? fmt::format("{}", g.index) : g.uuid;
  for (char& c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
  return key;
}

// Tries to take one free slot of `gpu`; returns whether it did.
Result<bool> TakeSlot(const fs::path& dir, const GpuSlotInfo& gpu, int per_gpu, std::vector<util::FileLock>* held) {
  for (int slot = 0; slot < per_gpu; ++slot) {
    util::FileLock lock;
    RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(
                                            dir / fmt::format("gpu-{}-slot{}.lock", SlotKey(gpu), slot), &lock));
    if (got) {
      held->push_back(std::move(lock));
      return true;
    }
  }
  return false;
}

}  // namespace

Result<GpuGrant> AcquireGpus(const GpuSlotOptions& options, const std::string& requested_mask,
                             const std::function<bool()>& cancelled) {
  if (options.max_tasks_per_gpu < 1 || options.gpus_per_task < 1)
    return Status::InvalidArgument("max_tasks_per_gpu and gpus_per_task must be at least 1");
  fs::path dir = options.slot_lock_dir.empty() ? fs::path("/tmp/runicorn-gpu-slots") : options.slot_lock_dir;
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(dir));
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + options.max_wait;
  std::vector<std::string> mask = SplitCommas(requested_mask);
  for (;;) {
    RUNTRACK_ASSIGN_OR_RETURN(std::vector<GpuSlotInfo> gpus, options.list_gpus());
    std::vector<GpuSlotInfo> wanted;
    if (!mask.empty()) {
      // The task pinned its own devices: exactly those, all at once.
      for (const auto& m : mask) {
        auto it = std::find_if(gpus.begin(), gpus.end(), [&](const GpuSlotInfo& g) {
          return g.uuid == m || fmt::format("{}", g.index) == m;
        });
        if (it == gpus.end())
          return Status::InvalidArgument(fmt::format("CUDA_VISIBLE_DEVICES names GPU '{}', which does not exist", m));
        wanted.push_back(*it);
      }
    } else {
      if (static_cast<int>(gpus.size()) < options.gpus_per_task)
        return Status::InvalidArgument(fmt::format("the task needs {} GPUs; this machine has {}",
                                                   options.gpus_per_task, gpus.size()));
      wanted = gpus;
    }
    GpuGrant grant;
    size_t need = mask.empty() ? static_cast<size_t>(options.gpus_per_task) : wanted.size();
    for (const auto& g : wanted) {
      if (grant.indices.size() == need) break;
      RUNTRACK_ASSIGN_OR_RETURN(bool got, TakeSlot(dir, g, options.max_tasks_per_gpu, &grant.slots));
      if (got) {
        grant.indices.push_back(g.index);
      } else if (!mask.empty()) {
        break;
      }
    }
    if (grant.indices.size() == need) {
      if (!mask.empty()) {
        grant.cuda_visible_devices = requested_mask;
      } else {
        for (size_t k = 0; k < grant.indices.size(); ++k)
          grant.cuda_visible_devices += fmt::format("{}{}", k ? "," : "", grant.indices[k]);
      }
      grant.waited_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      return grant;
    }
    grant.slots.clear();  // all or nothing: never sit on part of a multi-GPU request
    if (cancelled()) return Status::FailedPrecondition("cancelled while waiting for a GPU");
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Busy(fmt::format("gpu_wait_timeout: no {} free GPU slot(s) within {} ms", need,
                                      options.max_wait.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace runtrack::tasks
