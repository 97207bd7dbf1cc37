// Helpers for the task tests: polling with a generous deadline (a limit on waiting, never an
// assertion about speed), file reads, and process liveness.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include <boost/json.hpp>

namespace runtrack::testing {

inline bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteText(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Gone = no such process, or a zombie waiting for a reaper that is not us.
inline bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  // Read with read(2): the process may be reaped between kill() and here, and a stream would then
  // throw from underflow (ESRCH) instead of answering "gone".
  std::string stat(4096, '\0');
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  const ssize_t n = ::read(fd, stat.data(), stat.size());
  ::close(fd);
  if (n <= 0) return true;
  stat.resize(static_cast<size_t>(n));
  size_t close = stat.rfind(')');
  return close == std::string::npos || (close + 2 < stat.size() && stat[close + 2] == 'Z');
}

inline std::string PythonForTests() {
  return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

}  // namespace runtrack::testing
