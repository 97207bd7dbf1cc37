// Process-group helpers shared by the runner and reconciliation.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>

namespace runtrack::tasks {

// psutil's create_time for `pid` (boot time + start ticks), as Pyruns stores it in
// pid_create_times; nullopt if the process does not exist.
std::optional<double> ProcessCreateTime(pid_t pid);

// True while any process of group `pgid` exists that is not a zombie.
bool ProcessGroupAlive(pid_t pgid);

// SIGTERM to the group, up to `grace` for it to go, then SIGKILL; returns true once no live
// member remains (waits up to 5 s more after SIGKILL). Zombies count as gone: their parent (our
// waiting thread, or init for orphans) reaps them.
bool TerminateProcessGroup(pid_t pgid, std::chrono::milliseconds grace);

}  // namespace runtrack::tasks
