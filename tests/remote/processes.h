// Real writer processes for the remote tests: `runicorn simulate` (the real binary, a Store that
// ships when RUNICORN_SERVER is set) started with fork/exec, waited for or SIGKILLed.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace runicorn::testing {

// Starts `argv` (argv[0] is the program path) with the current environment plus `env` (NAME ->
// value; an empty value removes NAME). stdout/stderr go to `log` when it is not empty.
inline pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                   const std::string& log = {}) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    if (env.count(name) == 0) envs.push_back(kv);
  }
  for (const auto& [k, v] : env)
    if (!v.empty()) envs.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!log.empty()) {
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
    }
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

// The exit code, or 128 + signal.
inline int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

inline void Kill9(pid_t pid) {
  ::kill(pid, SIGKILL);
  WaitExit(pid);
}

}  // namespace runicorn::testing
