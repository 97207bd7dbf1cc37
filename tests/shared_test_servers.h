// Test servers shared by every test case of one `ctest` run (PostgreSQL, Ceph RGW).
//
// ctest runs each Catch2 test case as its own process, so a server started per process was started
// once per case: ~30 s for a Ceph cluster, ~1.5 s for PostgreSQL, paid by dozens of cases. Under
// ctest a fixture (tests/CMakeLists.txt) starts each server once, before the cases that need it, and
// stops it by PID after the last of them. The fixture's start case hands the server over in a folder
// named by $RUNICORN_TEST_SERVERS (one small file per engine: the server's folder and what a client
// needs); the cases attach to it. Each case still works in a database or bucket of its own, named
// after its PID, so cases never see each other's data. A case that stops or reconfigures its server
// starts a private one instead. Without the variable (a test program run by hand, a benchmark) each
// process starts its own server, as before.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace runicorn::testing {

// The handover file of `engine` ("postgresql", "rgw") when running under ctest's fixture.
inline std::optional<std::filesystem::path> SharedServerHandover(const std::string& engine) {
  const char* root = std::getenv("RUNICORN_TEST_SERVERS");
  if (root == nullptr || *root == '\0') return std::nullopt;
  return std::filesystem::path(root) / engine;
}

// The lines of a handover file; empty when there is none (the fixture did not start the server).
inline std::vector<std::string> ReadHandover(const std::filesystem::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The handover of the run's shared `server` ("Ceph RGW", "PostgreSQL"), `lines` lines long; nullopt
// with `reason` set when there is none: why the start case could not start it (what it left in
// <handover>.unavailable), else that it is not running.
inline std::optional<std::vector<std::string>> AttachHandover(const std::filesystem::path& file, size_t lines,
                                                              const std::string& server, std::string& reason) {
  auto handover = ReadHandover(file);
  if (handover.size() == lines) return handover;
  const auto why = ReadHandover(file.string() + ".unavailable");
  reason = !why.empty() ? why.front()
                        : "the shared " + server + " is not running (" + file.string() +
                              " is missing: see the output of ctest's start case for it)";
  return std::nullopt;
}

// Written aside and renamed, so a case never reads half a handover.
inline bool WriteHandover(const std::filesystem::path& file, const std::vector<std::string>& lines) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  const std::filesystem::path staging = file.string() + ".tmp";
  {
    std::ofstream out(staging, std::ios::trunc);
    for (const auto& line : lines) out << line << '\n';
    if (!out) return false;
  }
  std::filesystem::rename(staging, file, ec);
  return !ec;
}

// Whether `pid` is a process named one of `names` (/proc/PID/comm). A handover left by an
// interrupted run may name PIDs the system has since given to other programs: only the engine's
// own processes are ever signalled.
inline bool ProcessIsOneOf(pid_t pid, std::initializer_list<const char*> names) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!std::getline(comm, name)) return false;
  for (const char* n : names)
    if (name == n) return true;
  return false;
}

// SIGTERM-like `signal`, then SIGKILL after `grace`, for each of `pids` in order (the order the
// engine's processes depend on each other).
inline void StopProcesses(const std::vector<pid_t>& pids, int signal, std::chrono::seconds grace) {
  for (pid_t pid : pids) ::kill(pid, signal);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (pid_t pid : pids) {
    while (::kill(pid, 0) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  }
}

}  // namespace runicorn::testing
