// Pyruns' source state of a run: "git <HEAD short 12> | clean|dirty|unknown | script <sha256:12>",
// or "git none | unknown | script <sha256:12>" outside a repository.
//
// Thread-safe. The git half is cached per directory for two seconds: a batch of 1,000 tasks
// starts with one pair of git calls, not 1,000 (git runs with a 1 s timeout and
// GIT_OPTIONAL_LOCKS=0, so it never blocks a user's own git command).
#pragma once

#include <filesystem>
#include <string>

namespace runtrack::tasks {

std::string SourceState(const std::filesystem::path& repo_dir, const std::filesystem::path& script);

}  // namespace runtrack::tasks
