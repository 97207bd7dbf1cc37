// `runicorn tasks run | wait | stop`: the verbs that run tasks or wait on runs.
//
// `run` keeps its runner (the worker pool) in this process until every task it claimed is done;
// `--detach` forks that process off first (a new session, stdio on /dev/null) and returns once
// the tasks are claimed, so `wait`, `stop`, `ls` and the viewer see them as owned by a live
// runner. Ctrl-C ends the foreground runner; its children die with it and the next runner or
// viewer marks the runs failed (runner_lost, docs/TASKS.md).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "cli/tasks_command.h"
#include "encode/task_json.h"

namespace runicorn::cli::tasks {
namespace {

using Clock = std::chrono::steady_clock;

bool Active(runtrack::TaskStatus s) {
  return s == runtrack::TaskStatus::kQueued || s == runtrack::TaskStatus::kRunning;
}

runtrack::Result<std::optional<std::chrono::milliseconds>> Timeout(const Args& args) {
  auto t = args.Get("timeout");
  if (!t) return std::optional<std::chrono::milliseconds>();
  auto n = ParseInt64(*t);
  if (!n.ok() || *n < 0 || *n > 86400 * 365)
    return runtrack::Status::InvalidArgument("--timeout must be a number of seconds in [0, 31536000]");
  return std::optional<std::chrono::milliseconds>(std::chrono::seconds(*n));
}

// Every task name of the workspace (with `only` set: of that status).
runtrack::Result<std::vector<runtrack::TaskSummary>> AllTasks(service::TaskService& svc,
                                                              std::optional<runtrack::TaskStatus> only) {
  runtrack::TaskListQuery q;
  q.rescan = true;
  q.limit = 10000;
  q.status = only;
  std::vector<runtrack::TaskSummary> out;
  for (;;) {
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::TaskPage page, svc.List(q));
    out.insert(out.end(), page.items.begin(), page.items.end());
    if (!page.has_more) return out;
    q.offset += page.items.size();
  }
}

// Polls until none of `names` (empty: every task) is queued or running. Fills `final`.
runtrack::Status WaitFor(service::TaskService& svc, const std::vector<std::string>& names,
                         std::optional<std::chrono::milliseconds> timeout,
                         std::vector<runtrack::TaskSummary>* final) {
  const auto deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  for (;;) {
    final->clear();
    bool active = false;
    if (names.empty()) {
      RUNTRACK_ASSIGN_OR_RETURN(*final, AllTasks(svc, std::nullopt));
    } else {
      for (const auto& n : names) {
        RUNTRACK_ASSIGN_OR_RETURN(service::TaskDetail d, svc.Show(n));
        final->push_back(d.summary);
      }
    }
    for (const auto& t : *final) active = active || Active(t.status);
    if (!active) return runtrack::Status::Ok();
    if (Clock::now() >= deadline)
      return runtrack::Status::Busy("tasks are still queued or running (--timeout passed)");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

int Summarize(const std::vector<runtrack::TaskSummary>& tasks, bool print) {
  std::vector<std::vector<std::string>> rows;
  bool all_completed = true;
  for (const auto& t : tasks) {
    rows.push_back({t.name, std::string(runtrack::TaskStatusName(t.status)), std::to_string(t.run_index)});
    all_completed = all_completed && (t.status == runtrack::TaskStatus::kCompleted || t.status == runtrack::TaskStatus::kPending);
  }
  if (print) PrintTable({"NAME", "STATUS", "RUNS"}, rows);
  return all_completed ? kExitOk : kExitError;
}

// Claims the tasks: the names given, else every pending task.
runtrack::Result<service::RunTasksReport> Claim(service::TaskService& svc, const Args& args, int workers) {
  std::vector<std::string> names(args.positional().begin() + 1, args.positional().end());
  if (names.empty()) {
    RUNTRACK_ASSIGN_OR_RETURN(auto pending, AllTasks(svc, runtrack::TaskStatus::kPending));
    // Oldest first, as they were created (the listing is newest first, names in natural order).
    std::stable_sort(pending.begin(), pending.end(),
                     [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
    for (const auto& t : pending) names.push_back(t.name);
    if (names.empty()) return runtrack::Status::NotFound("no pending tasks to run");
  }
  return svc.Run(names, workers);
}

void WaitIdleForever(service::TaskService& svc) {
  while (svc.WaitIdle(std::chrono::hours(1)).code() == runtrack::StatusCode::kBusy) {
  }
}

int PrintReport(const service::RunTasksReport& r, bool json) {
  if (json) PrintJson(encode::RunReport(r));
  for (const auto& [n, why] : r.skipped) std::fprintf(stderr, "runicorn: skipped %s: %s\n", n.c_str(), why.message().c_str());
  return r.skipped.empty() ? kExitOk : ExitCodeFor(r.skipped.front().second);
}

// The detached runner: reports the claim on `report_fd` (exit code byte + text), then runs.
[[noreturn]] void DetachedRunner(const Args& args, int workers, int report_fd) {
  ::setsid();
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
  }
  int code = kExitOk;
  {
    service::TaskService svc(ServiceOptions(args));
    std::string text;
    if (!SelectWorkspace(svc, args, &code)) {
      text = "cannot select the workspace";
    } else if (auto r = Claim(svc, args, workers); !r.ok()) {
      code = ExitCodeFor(r.status());
      text = r.status().message();
    } else {
      text = boost::json::serialize(encode::RunReport(*r));
    }
    std::string msg = std::string(1, static_cast<char>(code)) + text;
    (void)!::write(report_fd, msg.data(), msg.size());
    ::close(report_fd);
    if (code == kExitOk) WaitIdleForever(svc);
  }
  ::_exit(code);
}

}  // namespace

int Run(const Args& args) {
  int workers = 1;
  if (auto w = args.Get("workers")) {
    auto n = ParseInt64(*w);
    if (!n.ok() || *n < 1 || *n > 32) return Fail(runtrack::Status::InvalidArgument("-j must be in [1, 32]"));
    workers = static_cast<int>(*n);
  }
  const bool json = args.Has("json");
  if (args.Has("detach")) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Fail(runtrack::Status::IOError("pipe failed"));
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return Fail(runtrack::Status::IOError("fork failed"));
    if (pid == 0) {
      ::close(fds[0]);
      DetachedRunner(args, workers, fds[1]);
    }
    ::close(fds[1]);
    std::string msg;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    if (msg.empty()) return Fail(runtrack::Status::Internal("the detached runner exited before claiming the tasks"));
    int code = static_cast<unsigned char>(msg[0]);
    std::string text = msg.substr(1);
    if (code != kExitOk) {
      ::waitpid(pid, nullptr, 0);  // it has exited already (or is about to)
      std::fprintf(stderr, "runicorn: %s\n", text.c_str());
      return code;
    }
    boost::system::error_code ec;
    auto report = runtrack::ParseJson(text, ec);
    if (json) {
      std::printf("%s\n", text.c_str());
    } else if (!ec) {
      std::printf("runner %d started; queued %s tasks\n", static_cast<int>(pid),
                  FormatValue(report.as_object().at("count")).c_str());
    }
    if (!ec)
      for (const auto& s : report.as_object().at("skipped").as_array())
        std::fprintf(stderr, "runicorn: skipped %s\n", boost::json::serialize(s).c_str());
    return !ec && report.as_object().at("skipped").as_array().empty() ? kExitOk : kExitConflict;
  }

  service::TaskService svc(ServiceOptions(args));
  int code = kExitOk;
  if (!SelectWorkspace(svc, args, &code)) return code;
  auto report = Claim(svc, args, workers);
  if (!report.ok()) return Fail(report.status());
  if (!json) std::fprintf(stderr, "running %zu tasks with %d workers\n", report->queued.size(), workers);
  WaitIdleForever(svc);
  std::vector<runtrack::TaskSummary> final;
  if (auto s = WaitFor(svc, report->queued, std::chrono::milliseconds(0), &final); !s.ok() && s.code() != runtrack::StatusCode::kBusy)
    return Fail(s);
  int skipped = PrintReport(*report, json);
  int outcome = Summarize(final, !json);
  return skipped != kExitOk ? skipped : outcome;
}

int Wait(service::TaskService& svc, const Args& args) {
  auto timeout = Timeout(args);
  if (!timeout.ok()) return Fail(timeout.status());
  std::vector<std::string> names(args.positional().begin() + 1, args.positional().end());
  std::vector<runtrack::TaskSummary> final;
  if (auto s = WaitFor(svc, names, *timeout, &final); !s.ok()) return Fail(s);
  if (args.Has("json")) {
    boost::json::array items;
    for (const auto& t : final) items.push_back(encode::TaskSummary(t));
    PrintJson(boost::json::object{{"items", std::move(items)}});
  }
  return Summarize(final, !args.Has("json"));
}

int Stop(service::TaskService& svc, const Args& args) {
  auto timeout = Timeout(args);
  if (!timeout.ok()) return Fail(timeout.status());
  std::vector<std::string> names(args.positional().begin() + 1, args.positional().end());
  if (names.empty()) return UsageError("stop needs task names");
  int code = kExitOk;
  for (const auto& n : names) {
    auto outcome = svc.Cancel(n);
    if (!outcome.ok()) {
      code = Fail(outcome.status());
      continue;
    }
    if (*outcome == runtrack::CancelOutcome::kRequested) {
      // Another process's runner owns it and acts on the request within ~200 ms + the grace.
      std::vector<runtrack::TaskSummary> final;
      auto s = WaitFor(svc, {n}, timeout->value_or(std::chrono::seconds(30)), &final);
      if (!s.ok()) {
        code = Fail(runtrack::Status::Busy(fmt::format("cancel of '{}' requested; its runner has not acted yet", n)));
        continue;
      }
      std::printf("%s: %s\n", n.c_str(), std::string(runtrack::TaskStatusName(final[0].status)).c_str());
    } else {
      std::printf("%s: cancelled\n", n.c_str());
    }
  }
  return code;
}

}  // namespace runicorn::cli::tasks
