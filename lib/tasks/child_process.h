// Starting a task's process: fork/exec into its own process group, output through one pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runtrack::tasks {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in the PATH of `env`
  std::vector<std::string> env;   // "KEY=value", the child's whole environment
  std::filesystem::path cwd;
};

struct SpawnedChild {
  pid_t pid = 0;        // also the process group id
  int output_fd = -1;   // read end of the child's stdout+stderr
};

// fork + exec. The child: own process group (setpgid), PR_SET_PDEATHSIG(SIGKILL) so it dies with
// the thread that started it, stdin from /dev/null, stdout and stderr into one pipe. Only
// async-signal-safe calls run between fork and exec. A failed exec (not found, not executable,
// bad cwd) is reported here as a Status, not as an exit code.
//
// The calling thread must stay alive until the child has exited (PDEATHSIG fires when the
// forking *thread* ends).
Result<SpawnedChild> SpawnChild(const ChildSpec& spec);

// Copies the child's output to `sink` until the child has exited, then returns its status like
// Python's Popen.returncode: the exit code, or -N when killed by signal N. Output written after
// the leader exited by processes it left behind is drained only if already buffered; the
// caller kills the rest of the group. Closes output_fd.
int PumpUntilExit(SpawnedChild& child, const std::function<void(std::string_view)>& sink);

// Runs a short helper command (git) and returns its stdout+stderr, or an error if it fails to
// start, exits non-zero, or outlives `timeout` (then it is killed).
Result<std::string> CaptureCommand(const ChildSpec& spec, std::chrono::milliseconds timeout);

// Looks `program` up in `path_list` (colon-separated) unless it contains '/'.
std::string ResolveProgram(const std::string& program, std::string_view path_list);

}  // namespace runtrack::tasks
