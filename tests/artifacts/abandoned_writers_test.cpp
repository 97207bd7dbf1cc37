// Chunks and temporaries of a killed or failed Log() are reclaimed by the next Log() or Gc() at once
// (no grace period), because a dead writer's claim lock is free; a live writer's are never touched.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "artifact_test_util.h"
#include "artifacts/layout.h"
#include "artifacts/writer_claim.h"

using namespace artifact_test;
using runtrack::ArtifactType;
namespace art = runtrack::artifacts;

namespace {

int ThreadsInThisProcess() {
  std::string status = ReadFile("/proc/self/status");
  auto at = status.find("Threads:");
  return at == std::string::npos ? -1 : std::atoi(status.c_str() + at + 8);
}

// Every regular file under blobs/ (chunks and temporaries), by path.
std::set<fs::path> BlobFiles(const fs::path& root) {
  std::set<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root / "blobs", ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) out.insert(it->path());
  }
  return out;
}

// Files under blobs/ that belong to the writer with claim file `claim`: its chunks and temporaries.
std::set<fs::path> FilesOf(const fs::path& root, const fs::path& claim) {
  art::Layout layout(root);
  std::string token = claim.filename().string();
  std::set<fs::path> out;
  auto claimed = art::ReadClaim(claim);
  REQUIRE(claimed.ok());
  for (const auto& hex : *claimed) {
    for (const fs::path& p : {layout.blob_path(hex), art::ChunkTmpPath(layout, hex, token)}) {
      if (fs::exists(p)) out.insert(p);
    }
  }
  return out;
}

// The claim file of the writer process `pid`, once at least `chunks` of the chunks it lists have a
// file (chunk or temporary); empty path if that did not happen within 20 s.
fs::path WaitForClaim(const fs::path& root, pid_t pid, size_t chunks) {
  const fs::path writers = art::WritersDir(art::Layout(root));
  const std::string prefix = std::to_string(pid) + "-";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (fs::directory_iterator it(writers, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().rfind(prefix, 0) != 0) continue;
      if (FilesOf(root, it->path()).size() >= chunks) return it->path();
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return {};
}

// Forks a process that logs `source` as artifact `name` and exits 0 when Log() succeeded.
pid_t ForkLog(const fs::path& root, const fs::path& source, const std::string& name) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 1;
    try {
      auto store = OpenStore(root);
      auto a = MakeArtifact(name, ArtifactType::kModel);
      if (a.AddFile(source, "data.bin").ok() && store.Log(a, "").ok()) rc = 0;
    } catch (...) {
    }
    ::_exit(rc);
  }
  return pid;
}

void Kill(pid_t pid) {
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
}

}  // namespace

TEST_CASE("gc reclaims a SIGKILLed Log's chunks at once and never touches a live writer's") {
  ScratchDir dir;
  fs::path root = dir / "store";
  const std::string live_bytes = RandomBytes(48u << 20, 21);
  WriteFile(dir / "victim.bin", RandomBytes(48u << 20, 20));
  WriteFile(dir / "live.bin", live_bytes);
  { auto store = OpenStore(root); }
  REQUIRE(ThreadsInThisProcess() == 1);  // fork() copies only this thread

  // The live writer starts first: a Log() also reclaims abandoned chunks when it starts.
  pid_t live = ForkLog(root, dir / "live.bin", "survivor");
  fs::path live_claim = WaitForClaim(root, live, 3);
  REQUIRE(::kill(live, SIGSTOP) == 0);  // alive, holding its claim, mid-way through its Log
  REQUIRE_FALSE(live_claim.empty());

  pid_t victim = ForkLog(root, dir / "victim.bin", "victim");
  fs::path victim_claim = WaitForClaim(root, victim, 3);
  REQUIRE(::kill(victim, SIGSTOP) == 0);  // freeze it mid-way, then kill it there
  REQUIRE_FALSE(victim_claim.empty());
  Kill(victim);
  std::set<fs::path> victim_files = FilesOf(root, victim_claim);
  REQUIRE(victim_files.size() >= 3);
  std::set<fs::path> live_files = FilesOf(root, live_claim);
  REQUIRE(live_files.size() >= 3);

  auto store = OpenStore(root);
  auto gc = store.Gc(std::chrono::hours(1));  // far longer than either writer has existed
  INFO(gc.status().ToString());
  REQUIRE(gc.ok());
  CHECK(gc->bytes_freed > 0);
  for (const fs::path& p : victim_files) CHECK_FALSE(fs::exists(p));
  CHECK_FALSE(fs::exists(victim_claim));
  for (const fs::path& p : live_files) CHECK(fs::exists(p));
  CHECK(fs::exists(live_claim));

  REQUIRE(::kill(live, SIGCONT) == 0);
  int status = 0;
  REQUIRE(::waitpid(live, &status, 0) == live);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(fs::exists(live_claim));  // retired after publishing
  auto handle = store.Use("survivor", "");
  REQUIRE(handle.ok());
  auto read = handle->ReadFile("data.bin");  // verified chunk by chunk against their hashes
  REQUIRE(read.ok());
  CHECK(*read == live_bytes);
  CHECK(store.Use("victim", "").status().code() == runtrack::StatusCode::kNotFound);

  // Only the survivor's chunks are left, and they are referenced.
  auto again = store.Gc(std::chrono::seconds(0));
  REQUIRE(again.ok());
  CHECK(again->chunks_removed == 0);
  CHECK(again->chunks_kept == BlobFiles(root).size());
}

TEST_CASE("the next Log reclaims what a SIGKILLed Log left behind") {
  ScratchDir dir;
  fs::path root = dir / "store";
  WriteFile(dir / "victim.bin", RandomBytes(48u << 20, 30));
  { auto store = OpenStore(root); }
  REQUIRE(ThreadsInThisProcess() == 1);

  pid_t victim = ForkLog(root, dir / "victim.bin", "victim");
  fs::path victim_claim = WaitForClaim(root, victim, 3);
  REQUIRE(::kill(victim, SIGSTOP) == 0);
  REQUIRE_FALSE(victim_claim.empty());
  Kill(victim);
  REQUIRE(FilesOf(root, victim_claim).size() >= 3);

  auto store = OpenStore(root);
  CHECK(LogText(store, dir.path(), "next", ArtifactType::kModel, "small and fresh") == 1);
  CHECK_FALSE(fs::exists(victim_claim));
  // What is left is exactly the new version's one chunk.
  CHECK(BlobFiles(root).size() == 1);
  auto gc = store.Gc(std::chrono::seconds(0));
  REQUIRE(gc.ok());
  CHECK(gc->chunks_removed == 0);
  CHECK(gc->chunks_kept == 1);
}

TEST_CASE("a Log that fails midway leaves its chunks to the next Gc, which removes them at once") {
  ScratchDir dir;
  fs::path root = dir / "store";
  WriteFile(dir / "first.bin", RandomBytes(3u << 20, 40));
  WriteFile(dir / "second.bin", "vanishes before Log reads it");
  auto store = OpenStore(root);
  auto a = MakeArtifact("broken", ArtifactType::kDataset);
  REQUIRE(a.AddFile(dir / "first.bin").ok());
  REQUIRE(a.AddFile(dir / "second.bin").ok());
  fs::remove(dir / "second.bin");
  auto logged = store.Log(a, "");
  REQUIRE(logged.status().code() == runtrack::StatusCode::kNotFound);
  size_t orphans = BlobFiles(root).size();
  CHECK(orphans >= 2);  // first.bin's chunks

  auto gc = store.Gc(std::chrono::hours(1));
  REQUIRE(gc.ok());
  CHECK(gc->chunks_removed == orphans);
  CHECK(gc->bytes_freed == 3u << 20);
  CHECK(BlobFiles(root).empty());
}

TEST_CASE("a chunk a dead writer left is kept while a live writer claims it") {
  ScratchDir dir;
  fs::path root = dir / "store";
  auto store = OpenStore(root);
  art::Layout layout(root);
  const std::string hex(64, 'a');
  WriteFile(layout.blob_path(hex), "shared chunk");
  // A dead writer's claim: the file exists, nobody holds its lock.
  WriteFile(art::WritersDir(layout) / "1-00000000000000aa", hex + "\n");
  auto live = art::WriterClaim::Create(layout);
  REQUIRE(live.ok());
  REQUIRE(live->Record(hex).ok());

  auto gc = store.Gc(std::chrono::seconds(0));
  REQUIRE(gc.ok());
  CHECK(gc->chunks_removed == 0);
  CHECK(fs::exists(layout.blob_path(hex)));
  CHECK_FALSE(fs::exists(art::WritersDir(layout) / "1-00000000000000aa"));  // the dead claim is gone

  // Once the live writer is gone too, the chunk is garbage at once.
  fs::path live_claim = art::WritersDir(layout) / live->token();
  { art::WriterClaim dying = std::move(*live); }  // its lock is released, its claim file stays
  REQUIRE(fs::exists(live_claim));
  auto after = store.Gc(std::chrono::hours(1));
  REQUIRE(after.ok());
  CHECK(after->chunks_removed == 1);
  CHECK(after->bytes_freed == std::string("shared chunk").size());
  CHECK_FALSE(fs::exists(layout.blob_path(hex)));
  CHECK_FALSE(fs::exists(live_claim));
}
