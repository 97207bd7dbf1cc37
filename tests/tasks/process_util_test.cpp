// The runner's /proc readers (lib/tasks/process_util.*) answer "gone" for a process that dies
// while they read, rather than throwing.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "tasks/process_util.h"

namespace runtrack::tasks {

TEST_CASE("process create time: a live process has one, a missing one has none", "[tasks][process]") {
  auto self = ProcessCreateTime(::getpid());
  REQUIRE(self.has_value());
  CHECK(*self > 1e9);  // seconds since the epoch: after 2001
  CHECK(*self <= static_cast<double>(std::time(nullptr)) + 1);
  CHECK_FALSE(ProcessCreateTime(0).has_value());
  CHECK_FALSE(ProcessCreateTime(-1).has_value());
  CHECK_FALSE(ProcessCreateTime(4194304 + 1).has_value());  // above pid_max's ceiling: never a pid
}

// A process reaped between the open of /proc/PID/stat and its read makes read(2) fail with ESRCH;
// read through a std::ifstream that threw from underflow out of TaskRunner::Cancel (seen in CI).
// The race cannot be forced, so this runs it many times: children that exit at once, reaped by
// another thread while their stat is read.
TEST_CASE("process create time of a process reaped while it is read: none, no exception", "[tasks][process]") {
  int answered = 0, gone = 0;
  for (int i = 0; i < 300; ++i) {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) ::_exit(0);
    std::atomic<bool> reaped{false};
    std::thread reaper([&] {
      int status = 0;
      ::waitpid(child, &status, 0);
      reaped = true;
    });
    while (!reaped) {
      std::optional<double> t;
      REQUIRE_NOTHROW(t = ProcessCreateTime(child));
      ++(t ? answered : gone);
    }
    reaper.join();
    REQUIRE_NOTHROW(ProcessCreateTime(child));
    CHECK_FALSE(ProcessCreateTime(child).has_value());
  }
  INFO("answers while alive or a zombie: " << answered << ", gone: " << gone);
  CHECK(answered > 0);
}

}  // namespace runtrack::tasks
