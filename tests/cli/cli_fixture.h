// Runs the real `runicorn` binary as a subprocess against a temporary store, with stdout, stderr
// and the exit code captured separately, plus helpers to fill the store through the library.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/progress_bar.h"
#include "runtrack/store.h"
#include "test_support.h"

#ifndef RUNICORN_BINARY
#error "RUNICORN_BINARY must name the runicorn executable (set by apps/CMakeLists.txt)"
#endif

extern char** environ;

namespace runicorn::testing {

namespace fs = std::filesystem;

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  boost::json::value json() const { return boost::json::parse(out); }
};

inline std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

// A temporary store root and home folder. Every command runs with RUNICORN_DIR = the store,
// HOME = the temporary home (the CLI reads the user config from $HOME/.config, see
// UserConfigFile), TZ = UTC (tables show local times), and without the caller's XDG_CONFIG_HOME,
// RUNICORN_TOKEN or RUNICORN_WEB_ROOT, so nothing of the real user's setup leaks in or is touched.
class CliEnv {
 public:
  CliEnv() { fs::create_directories(home()); }

  const fs::path& dir() const { return dir_.path(); }
  fs::path root() const { return dir() / "store"; }
  fs::path home() const { return dir() / "home"; }

  // `env` overrides the variables above; nullopt unsets one. With `stderr_on_terminal` stderr is a
  // pseudo-terminal (whose line discipline turns "\n" into "\r\n"), as in an interactive shell;
  // it is read only after the exit, so keep such output within the terminal's few KiB of buffer.
  CliResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::optional<std::string>>& env = {},
                bool stderr_on_terminal = false) const {
    std::map<std::string, std::optional<std::string>> vars;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      size_t eq = kv.find('=');
      if (eq != std::string::npos) vars[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const char* drop : {"XDG_CONFIG_HOME", "RUNICORN_TOKEN", "RUNICORN_WEB_ROOT"}) vars.erase(drop);
    vars["RUNICORN_DIR"] = root().string();
    vars["HOME"] = home().string();
    vars["TZ"] = "UTC";
    for (const auto& [k, v] : env) vars[k] = v;

    std::vector<std::string> env_strings;
    for (const auto& [k, v] : vars)
      if (v) env_strings.push_back(k + "=" + *v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_strings{RUNICORN_BINARY};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);

    // Files rather than pipes: no reader thread, and no deadlock on a large export.
    const fs::path out_file = dir() / fmt::format("stdout-{}", runs_);
    const fs::path err_file = dir() / fmt::format("stderr-{}", runs_++);
    int terminal = -1, terminal_side = -1;
    if (stderr_on_terminal) {
      terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
      REQUIRE(terminal >= 0);
      REQUIRE(::grantpt(terminal) == 0);
      REQUIRE(::unlockpt(terminal) == 0);
      terminal_side = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY);
      REQUIRE(terminal_side >= 0);
    }
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int in = ::open("/dev/null", O_RDONLY);
      int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = stderr_on_terminal ? terminal_side : ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || out < 0 || err < 0) ::_exit(126);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execve(RUNICORN_BINARY, argv.data(), envp.data());
      ::_exit(127);
    }
    if (stderr_on_terminal) ::close(terminal_side);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadAll(out_file);
    if (stderr_on_terminal) {
      // The terminal keeps what the child wrote; with no writer left, read() ends with EIO.
      char buf[4096];
      for (ssize_t n; (n = ::read(terminal, buf, sizeof buf)) > 0;) r.err.append(buf, static_cast<size_t>(n));
      ::close(terminal);
    } else {
      r.err = ReadAll(err_file);
    }
    return r;
  }

  std::unique_ptr<runtrack::Store> OpenStore() const {
    auto store = runtrack::Store::Open(root());
    REQUIRE(store.ok());
    return std::move(store).value();
  }

 private:
  runtrack::testing::TempDir dir_;
  mutable int runs_ = 0;
};

// "YYYY-MM-DD HH:MM:SS" in UTC, what the tables show under TZ=UTC.
inline std::string UtcTime(double unix_seconds) {
  std::time_t secs = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// The progress-bar lines of a stderr capture: the segments between '\r' and '\n', trailing
// padding removed, empty ones dropped.
inline std::vector<std::string> BarLines(const std::string& err) {
  std::vector<std::string> lines;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && cur.back() == ' ') cur.pop_back();
    if (!cur.empty()) lines.push_back(cur);
    cur.clear();
  };
  for (char c : err) {
    if (c == '\r' || c == '\n') flush();
    else cur += c;
  }
  flush();
  return lines;
}

// A bar line without its rate ("  85.2 MiB/s" / "  120.0/s"), which depends on timing; what is
// left must equal RenderBar(..., elapsed_seconds = 0, ...) exactly.
inline std::string WithoutRate(const std::string& line) {
  size_t sep = line.rfind("  ");
  if (sep == std::string::npos || line.size() < 2 || line.compare(line.size() - 2, 2, "/s") != 0) return line;
  return line.substr(0, sep);
}

inline std::string Bar(std::string_view label, uint64_t done, uint64_t total, cli::ProgressUnit unit) {
  return cli::RenderBar(label, done, total, 0, cli::ProgressBar::kWidth, unit);
}

}  // namespace runicorn::testing
