#include "tasks/process_util.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "util/files.h"

namespace runtrack::tasks {
namespace {

double BootTime() {
  static const double boot = [] {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
      if (key == "btime") { in >> value; break; }
      std::string rest;
      std::getline(in, rest);
    }
    return value;
  }();
  return boot;
}

// Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses).
bool ReadStatFields(pid_t pid, char* state, pid_t* pgrp, unsigned long long* start_ticks) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  // read(2), not a stream: a process reaped between open and read makes the read fail with ESRCH,
  // and libstdc++'s filebuf throws from underflow on that (seen from Cancel of a dying task).
  auto read = util::ReadFile(path);
  if (!read.ok()) return false;
  const std::string& text = *read;
  size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(text.substr(close + 2));
  // state(3) ppid(4) pgrp(5) session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime(22)
  std::string f[20];
  for (auto& x : f) if (!(fields >> x)) return false;
  *state = f[0].empty() ? '?' : f[0][0];
  *pgrp = static_cast<pid_t>(std::atol(f[2].c_str()));
  *start_ticks = std::strtoull(f[19].c_str(), nullptr, 10);
  return true;
}

}  // namespace

std::optional<double> ProcessCreateTime(pid_t pid) {
  char state = 0;
  pid_t pgrp = 0;
  unsigned long long ticks = 0;
  if (pid <= 0 || !ReadStatFields(pid, &state, &pgrp, &ticks)) return std::nullopt;
  return BootTime() + static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

bool ProcessGroupAlive(pid_t pgid) {
  if (pgid <= 0) return false;
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) return false;
  // kill() also reaches zombies, which are dead for our purpose: look for a live member.
  DIR* d = ::opendir("/proc");
  if (!d) return true;
  bool alive = false;
  while (struct dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    char state = 0;
    pid_t pgrp = 0;
    unsigned long long ticks = 0;
    if (ReadStatFields(static_cast<pid_t>(pid), &state, &pgrp, &ticks) && pgrp == pgid &&
        state != 'Z' && state != 'X') {
      alive = true;
      break;
    }
  }
  ::closedir(d);
  return alive;
}

bool TerminateProcessGroup(pid_t pgid, std::chrono::milliseconds grace) {
  using Clock = std::chrono::steady_clock;
  if (pgid <= 0) return true;
  ::kill(-pgid, SIGTERM);
  auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (!ProcessGroupAlive(pgid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pgid, SIGKILL);
  deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (!ProcessGroupAlive(pgid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !ProcessGroupAlive(pgid);
}

}  // namespace runtrack::tasks
