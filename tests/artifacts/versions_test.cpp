#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "artifact_test_util.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::DeleteMode;
using runtrack::StatusCode;

namespace {

int ThreadsInThisProcess() {
  std::string status = ReadFile("/proc/self/status");
  auto at = status.find("Threads:");
  return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 8);
}

std::vector<int> VersionNumbers(runtrack::ArtifactStore& store, const std::string& name, bool include_deleted = false) {
  auto list = store.ListVersions(name, include_deleted);
  REQUIRE(list.ok());
  std::vector<int> out;
  for (const auto& v : *list) out.push_back(v.version);
  return out;
}

}  // namespace

TEST_CASE("8 processes logging 5 versions each get exactly versions 1 to 40") {
  ScratchDir dir;
  fs::path root = dir / "store";
  { auto store = OpenStore(root); }
  // fork() copies only the calling thread: make sure no other thread exists at this point
  // (Log() joins its helper threads before returning, and nothing else starts threads).
  REQUIRE(ThreadsInThisProcess() == 1);
  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < 8; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(go[1]);
      char c;
      (void)!::read(go[0], &c, 1);  // wait until every child exists, then race
      int rc = 0;
      try {
        auto store = OpenStore(root);
        for (int i = 0; i < 5; ++i) {
          std::string body = "process " + std::to_string(p) + " version " + std::to_string(i);
          LogText(store, root.parent_path(), "shared-model", ArtifactType::kModel, body + RandomBytes(70000, p * 10 + i));
        }
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // EOF releases all children at once
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto store = OpenStore(root);
  std::vector<int> expected;
  for (int v = 1; v <= 40; ++v) expected.push_back(v);
  CHECK(VersionNumbers(store, "shared-model") == expected);
  // Every version holds what exactly one writer wrote.
  std::set<std::string> bodies;
  for (int v = 1; v <= 40; ++v) {
    auto h = store.Use("shared-model:v" + std::to_string(v), "");
    REQUIRE(h.ok());
    auto text = h->ReadFile("data.bin");
    REQUIRE(text.ok());
    bodies.insert(text->substr(0, 20));
  }
  CHECK(bodies.size() == 40);
}

TEST_CASE("a version number is never reused after a permanent delete") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  CHECK(LogText(store, dir.path(), "m", ArtifactType::kModel, "one") == 1);
  CHECK(LogText(store, dir.path(), "m", ArtifactType::kModel, "two") == 2);
  CHECK(LogText(store, dir.path(), "m", ArtifactType::kModel, "three") == 3);
  REQUIRE(store.Delete("m", 3, DeleteMode::kPermanent).ok());
  REQUIRE(store.Delete("m", 2, DeleteMode::kPermanent).ok());
  CHECK(VersionNumbers(store, "m") == std::vector<int>{1});
  CHECK(LogText(store, dir.path(), "m", ArtifactType::kModel, "four") == 4);
  CHECK(VersionNumbers(store, "m") == std::vector<int>{1, 4});
  auto gone = store.Use("m:v3", "");
  CHECK(gone.status().code() == StatusCode::kNotFound);
  CHECK(gone.status().message() == "version v3 of 'm' not found; existing versions: v1, v4");
  // Even deleting every version keeps the counter.
  REQUIRE(store.Delete("m", 1, DeleteMode::kPermanent).ok());
  REQUIRE(store.Delete("m", 4, DeleteMode::kPermanent).ok());
  CHECK(LogText(store, dir.path(), "m", ArtifactType::kModel, "five") == 5);
}

TEST_CASE("a writer killed mid-log leaves no visible version and gc reclaims its chunks") {
  ScratchDir dir;
  fs::path root = dir / "store";
  WriteFile(dir / "big.bin", RandomBytes(256u << 20, 5));
  { auto store = OpenStore(root); }
  REQUIRE(ThreadsInThisProcess() == 1);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      auto store = OpenStore(root);
      auto a = MakeArtifact("victim", ArtifactType::kModel);
      if (a.AddFile(dir / "big.bin").ok()) (void)store.Log(a, kRunA);
    } catch (...) {
    }
    ::_exit(0);
  }
  // Kill as soon as a few chunks are on disk: well before 256 MiB are through.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (CountFiles(root / "blobs") < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));

  auto store = OpenStore(root);
  size_t orphans = CountFiles(root / "blobs");
  CHECK(orphans >= 3);
  auto listed = store.ListArtifacts();
  REQUIRE(listed.ok());
  CHECK(listed->empty());
  CHECK(store.Use("victim", "").status().code() == StatusCode::kNotFound);

  // No writer holds them any more (its claim lock died with it): they go at once, however fresh.
  auto gc = store.Gc(std::chrono::seconds(3600));
  REQUIRE(gc.ok());
  CHECK(gc->bytes_freed > 0);
  CHECK(CountFiles(root / "blobs") == 0);
}
