// GPU admission: per-GPU task slots shared by every runner on the machine.
//
// Slot i of a GPU is an exclusive flock on `<slot_lock_dir>/gpu-<uuid or index>-slot<i>.lock`.
// Holding the lock is holding the slot; the kernel frees it when the holder dies, so a crashed
// runner never leaks GPU capacity, and runners of different workspaces and projects cannot
// double-book a GPU (Pyruns only coordinates within one workspace).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "runtrack/tasks.h"
#include "util/files.h"

namespace runtrack::tasks {

struct GpuGrant {
  std::vector<int> indices;
  std::string cuda_visible_devices;  // what the child gets (indices, or the task's own UUIDs)
  double waited_seconds = 0;
  std::vector<util::FileLock> slots;  // released when the grant is destroyed
};

// Waits until the task's GPUs are free and holds their slots. `requested_mask` is the task's own
// CUDA_VISIBLE_DEVICES (indices or UUIDs; empty = the first `gpus_per_task` GPUs, in list order,
// that have a free slot).
// Fails with InvalidArgument if the mask names GPUs that do not exist or the options are out of
// range, Busy("gpu_wait_timeout: ...") after `max_wait`, FailedPrecondition as soon as
// `cancelled()` turns true.
Result<GpuGrant> AcquireGpus(const GpuSlotOptions& options, const std::string& requested_mask,
                             const std::function<bool()>& cancelled);

}  // namespace runtrack::tasks
