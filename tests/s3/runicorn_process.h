// The runicorn binary as a child process, for the S3 tests that run the real viewer and commands.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#ifndef RUNICORN_BINARY
#error "RUNICORN_BINARY must name the runicorn executable (set by apps/CMakeLists.txt)"
#endif

extern char** environ;

namespace runicorn::testing {
namespace fs = std::filesystem;

// `runicorn COMMAND ARGS` as a child process: only the AWS_* variables `extra_env` gives (plus
// the rest of the environment), stdout and stderr to files in `out_dir`; stopped by PID (SIGTERM).
class RunicornProcess {
 public:
  RunicornProcess(const std::string& command, const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& extra_env, const fs::path& out_dir)
      : out_(out_dir / (command + ".out")), err_(out_dir / (command + ".err")) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      if (kv.rfind("AWS_", 0) == 0) continue;  // only what the test gives
      if (extra_env.count(kv.substr(0, kv.find('=')))) continue;
      env.push_back(kv);
    }
    for (const auto& [k, v] : extra_env) env.push_back(k + "=" + v);
    std::vector<std::string> argv = {RUNICORN_BINARY, command};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> a, en;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      for (auto& s : env) en.push_back(s.data());
      en.push_back(nullptr);
      ::execve(a[0], a.data(), en.data());
      ::_exit(127);
    }
  }
  ~RunicornProcess() { Stop(); }

  // The port from the "serving ... on http://127.0.0.1:PORT" line, or 0 if it exited first.
  int WaitForPort() {
    const std::regex serving(R"(on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::smatch m;
      std::string out = Slurp(out_);
      if (std::regex_search(out, m, serving)) return std::stoi(m[1]);
      if (Exited()) return 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = 0;
      return true;
    }
    return false;
  }
  // Waits for the process to end, however long it takes; its exit code (-1: killed by a signal).
  int Wait() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = 0;
    }
    return exit_code_;
  }
  int WaitExit() {
    for (int i = 0; i < 600 && !Exited(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return exit_code_;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = 0;
    }
  }
  std::string out() const { return Slurp(out_); }
  std::string err() const { return Slurp(err_); }

 private:
  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  fs::path out_, err_;
  pid_t pid_ = 0;
  int exit_code_ = -1;
};

}  // namespace runicorn::testing
