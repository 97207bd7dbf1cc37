// GPU slots: assignment through CUDA_VISIBLE_DEVICES, a task's own mask, slots shared through
// lock files, and the wait deadline. The GPU list is a fake (no NVML here).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "runtrack/tasks.h"
#include "task_test_util.h"
#include "test_support.h"
#include "util/files.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string GpuTask(Workspace& ws, const std::string& name, std::map<std::string, std::string> env = {}) {
  CreateTasksOptions o;
  o.name_prefix = name;
  o.append_timestamp = false;
  o.shell_text = "echo \"gpu=$CUDA_VISIBLE_DEVICES assigned=$PYRUNS_ASSIGNED_GPUS\"\n";
  o.env = std::move(env);
  auto names = ws.CreateTasks(o);
  REQUIRE(names.ok());
  return names->front();
}

TaskRunnerOptions GpuOptions(const fs::path& lock_dir, int gpus) {
  TaskRunnerOptions o;
  o.workers = 4;
  o.cancel_grace = 300ms;
  o.gpu.slot_lock_dir = lock_dir;
  o.gpu.max_wait = 60s;
  o.gpu.list_gpus = [gpus]() -> Result<std::vector<GpuSlotInfo>> {
    std::vector<GpuSlotInfo> list;
    for (int k = 0; k < gpus; ++k) list.push_back({k, fmt::format("GPU-fake-{}", k), "Fake GPU"});
    return list;
  };
  return o;
}

std::string RunLog(Workspace& ws, const std::string& name) {
  return ReadText(ws.dir() / "tasks" / name / "run_logs" / "run1.log");
}

}  // namespace

TEST_CASE("tasks get CUDA_VISIBLE_DEVICES from free slots, never a taken one", "[tasks][gpu]") {
  TempDir tmp;
  auto ws = Workspace::OpenShell(tmp.path());
  REQUIRE(ws.ok());
  fs::path locks = tmp.path() / "gpu-locks";
  fs::create_directories(locks);
  // Another runner on this machine holds GPU 0's only slot.
  auto held = util::FileLock::Acquire(locks / "gpu-GPU-fake-0-slot0.lock");
  REQUIRE(held.ok());
  std::vector<std::string> names;
  for (int k = 0; k < 3; ++k) names.push_back(GpuTask(**ws, fmt::format("g{}", k)));
  auto runner = TaskRunner::Start(**ws, GpuOptions(locks, 2));
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit(names)->queued.size() == 3);
  REQUIRE((*runner)->WaitIdle(60s).ok());
  for (const auto& name : names) {
    INFO(name);
    CHECK(RunLog(**ws, name).find("\ngpu=1 assigned=1\n") != std::string::npos);
    CHECK(RunLog(**ws, name).find("[PYRUNS] GPU CONTEXT: CUDA_VISIBLE_DEVICES=1") != std::string::npos);
    auto info = (*ws)->ReadTaskInfo(name);
    CHECK(info->at("status") == "completed");
    CHECK(info->at("_gpu_assignment").at("cuda_visible_devices") == "1");
    CHECK(info->at("_gpu_assignment").at("gpu_ids").as_array() == json::array{1});
  }
}

TEST_CASE("a task's own CUDA_VISIBLE_DEVICES is respected", "[tasks][gpu]") {
  TempDir tmp;
  auto ws = Workspace::OpenShell(tmp.path());
  REQUIRE(ws.ok());
  std::string by_index = GpuTask(**ws, "pinned", {{"CUDA_VISIBLE_DEVICES", "2"}});
  std::string by_uuid = GpuTask(**ws, "uuid", {{"CUDA_VISIBLE_DEVICES", "GPU-fake-1"}});
  std::string missing = GpuTask(**ws, "missing", {{"CUDA_VISIBLE_DEVICES", "7"}});
  auto runner = TaskRunner::Start(**ws, GpuOptions(tmp.path() / "gpu-locks", 3));
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit({by_index, by_uuid, missing})->queued.size() == 3);
  REQUIRE((*runner)->WaitIdle(60s).ok());
  CHECK(RunLog(**ws, by_index).find("\ngpu=2 assigned=2\n") != std::string::npos);
  CHECK(RunLog(**ws, by_uuid).find("\ngpu=GPU-fake-1 assigned=GPU-fake-1\n") != std::string::npos);
  auto info = (*ws)->ReadTaskInfo(missing);
  CHECK(info->at("status") == "failed");
  CHECK(info->at("run_index") == 0);
  CHECK(ReadText((*ws)->dir() / "tasks" / missing / "run_logs" / "error.log")
            .find("reason=gpu_unavailable: CUDA_VISIBLE_DEVICES names GPU '7', which does not exist\n") !=
        std::string::npos);
}

TEST_CASE("waiting for a GPU ends at the deadline with gpu_wait_timeout", "[tasks][gpu]") {
  TempDir tmp;
  auto ws = Workspace::OpenShell(tmp.path());
  REQUIRE(ws.ok());
  fs::path locks = tmp.path() / "gpu-locks";
  fs::create_directories(locks);
  auto held = util::FileLock::Acquire(locks / "gpu-GPU-fake-0-slot0.lock");
  REQUIRE(held.ok());
  std::string name = GpuTask(**ws, "starved");
  TaskRunnerOptions o = GpuOptions(locks, 1);
  o.gpu.max_wait = 200ms;
  auto runner = TaskRunner::Start(**ws, o);
  REQUIRE(runner.ok());
  REQUIRE((*runner)->Submit({name})->queued.size() == 1);
  REQUIRE((*runner)->WaitIdle(60s).ok());
  auto info = (*ws)->ReadTaskInfo(name);
  CHECK(info->at("status") == "failed");
  CHECK(info->at("run_index") == 0);  // no run slot: it never started
  CHECK_FALSE(info->contains("gpu_wait"));
  CHECK(ReadText((*ws)->dir() / "tasks" / name / "run_logs" / "error.log").find("\nreason=gpu_wait_timeout\n") !=
        std::string::npos);
}
