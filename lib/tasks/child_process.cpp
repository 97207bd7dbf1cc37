#include "tasks/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace runtrack::tasks {

std::string ResolveProgram(const std::string& program, std::string_view path_list) {
  if (program.find('/') != std::string::npos) return program;
  size_t pos = 0;
  while (pos <= path_list.size()) {
    size_t end = path_list.find(':', pos);
    if (end == std::string_view::npos) end = path_list.size();
    std::filesystem::path dir(path_list.substr(pos, end - pos));
    std::string candidate = ((dir.empty() ? std::filesystem::path(".") : dir) / program).string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    pos = end + 1;
  }
  return "";
}

Result<SpawnedChild> SpawnChild(const ChildSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidArgument("empty command");
  std::string path_list = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : spec.env)
    if (e.rfind("PATH=", 0) == 0) path_list = e.substr(5);
  std::string program = ResolveProgram(spec.argv[0], path_list);
  if (program.empty())
    return Status::NotFound(fmt::format("command '{}' not found in PATH", spec.argv[0]));

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::string cwd = spec.cwd.string();

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]); ::close(out[1]);
    return Status::IOError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(out[0]); ::close(out[1]); ::close(err[0]); ::close(err[1]);
    return Status::IOError(fmt::format("fork: {}", std::strerror(e)));
  }
  if (pid == 0) {
    auto fail = [&](int stage) {
      int e[2] = {stage, errno};
      (void)!::write(err[1], e, sizeof e);
      ::_exit(127);
    };
    if (::setpgid(0, 0) != 0) fail(1);
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(2);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0) fail(3);
    if (::dup2(out[1], 1) < 0 || ::dup2(out[1], 2) < 0) fail(3);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) fail(4);
    // Signals ignored or blocked by the runner must not leak into the task.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(program.c_str(), argv.data(), envp.data());
    fail(5);
  }
  // Set the group from this side too, so a kill(-pid) right after we return cannot miss.
  ::setpgid(pid, pid);
  ::close(out[1]);
  ::close(err[1]);
  int failure[2] = {0, 0};
  ssize_t n;
  do { n = ::read(err[0], failure, sizeof failure); } while (n < 0 && errno == EINTR);
  ::close(err[0]);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    static const char* kStages[] = {"", "setpgid", "prctl", "redirect", "chdir", "exec"};
    std::string what = failure[0] == 4 ? fmt::format("chdir to {}", cwd)
                                        : fmt::format("{} {}", kStages[failure[0] % 6], program);
    return Status::FailedPrecondition(fmt::format("cannot start task: {}: {}", what, std::strerror(failure[1])));
  }
  return SpawnedChild{pid, out[0]};
}

namespace {

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

void DrainAvailable(int fd, const std::function<void(std::string_view)>& sink) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) { sink(std::string_view(buf, static_cast<size_t>(n))); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
}

}  // namespace

int PumpUntilExit(SpawnedChild& child, const std::function<void(std::string_view)>& sink) {
  char buf[65536];
  int status = 0;
  bool reaped = false;
  while (child.output_fd >= 0) {
    struct pollfd p {child.output_fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0) {
      ssize_t n = ::read(child.output_fd, buf, sizeof buf);
      if (n > 0) { sink(std::string_view(buf, static_cast<size_t>(n))); continue; }
      if (n < 0 && errno == EINTR) continue;
      break;  // EOF: every writer (the whole group) closed the pipe
    }
    // Quiet for 100 ms: the leader may have exited while a background process keeps the pipe.
    pid_t w = ::waitpid(child.pid, &status, WNOHANG);
    if (w == child.pid) {
      reaped = true;
      DrainAvailable(child.output_fd, sink);
      break;
    }
  }
  if (child.output_fd >= 0) { ::close(child.output_fd); child.output_fd = -1; }
  if (!reaped) {
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {}
  }
  return DecodeWaitStatus(status);
}

Result<std::string> CaptureCommand(const ChildSpec& spec, std::chrono::milliseconds timeout) {
  RUNTRACK_ASSIGN_OR_RETURN(SpawnedChild child, SpawnChild(spec));
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) { timed_out = true; break; }
    struct pollfd p {child.output_fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) { timed_out = true; break; }
    ssize_t n = ::read(child.output_fd, buf, sizeof buf);
    if (n > 0) { output.append(buf, static_cast<size_t>(n)); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(child.output_fd);
  if (timed_out) ::kill(-child.pid, SIGKILL);
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {}
  if (timed_out) return Status::Busy(fmt::format("{} timed out", spec.argv[0]));
  if (DecodeWaitStatus(status) != 0)
    return Status::FailedPrecondition(fmt::format("{} exited with {}", spec.argv[0], DecodeWaitStatus(status)));
  return output;
}

}  // namespace runtrack::tasks
