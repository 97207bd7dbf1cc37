#include "tasks/source_state.h"

#include <chrono>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "artifacts/sha256.h"
#include "tasks/child_process.h"
#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;

namespace {

std::string GitState(const fs::path& dir) {
  ChildSpec spec;
  spec.cwd = dir;
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "GIT_OPTIONAL_LOCKS=0", "LC_ALL=C"};
  spec.argv = {"git", "rev-parse", "--short=12", "HEAD"};
  auto head = CaptureCommand(spec, std::chrono::seconds(1));
  if (!head.ok()) return "git none | unknown";
  std::string sha = *head;
  while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r')) sha.pop_back();
  spec.argv = {"git", "status", "--porcelain", "--untracked-files=no"};
  auto status = CaptureCommand(spec, std::chrono::seconds(1));
  std::string state = !status.ok() ? "unknown" : status->empty() ? "clean" : "dirty";
  return fmt::format("git {} | {}", sha, state);
}

}  // namespace

std::string SourceState(const fs::path& repo_dir, const fs::path& script) {
  static std::mutex mu;
  static std::map<fs::path, std::pair<std::chrono::steady_clock::time_point, std::string>> cache;
  std::string git;
  {
    std::lock_guard lock(mu);
    auto it = cache.find(repo_dir);
    if (it != cache.end() && std::chrono::steady_clock::now() - it->second.first < std::chrono::seconds(2))
      git = it->second.second;
  }
  if (git.empty()) {
    git = GitState(repo_dir);
    std::lock_guard lock(mu);
    cache[repo_dir] = {std::chrono::steady_clock::now(), git};
  }
  auto content = util::ReadFile(script);
  std::string hash = content.ok() ? artifacts::Sha256Hex(*content).substr(0, 12) : "unknown";
  return fmt::format("{} | script {}", git, hash);
}

}  // namespace runtrack::tasks
