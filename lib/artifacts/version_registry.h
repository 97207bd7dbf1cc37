// Version numbers and version states of one artifact name, read from and claimed in the file
// system (no lock, no counter file).
//
// Claiming: mkdir("v<N>") succeeds for exactly one caller across all processes; a loser retries
// with N+1. The directory is never removed (a permanent delete leaves a "purged" tombstone in it),
// so a number, once claimed, is never handed out again, and crashed writers only burn a number.
#pragma once

#include <filesystem>
#include <vector>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

enum class VersionState {
  kPending,  // claimed, manifest not published (a writer is publishing, or it crashed)
  kReady,
  kDeleted,  // soft-deleted: manifest present plus the "deleted" marker
  kPurged,   // permanently deleted: "purged" tombstone (wins over everything else)
};

// "pending", "ready", "deleted" or "purged" (the state names of exports and messages).
const char* VersionStateName(VersionState s);

struct VersionEntry {
  int version = 0;
  VersionState state = VersionState::kPending;
};

// Every v<N> directory under `name_dir`, ascending. An absent name_dir yields an empty list.
Result<std::vector<VersionEntry>> ScanVersions(const fs::path& name_dir);
VersionState StateOf(const fs::path& version_dir);
// Claims the lowest number above every existing v<N>, retrying upward on collisions.
Result<int> ClaimVersion(const fs::path& name_dir);

// Newest version in state kReady, or 0.
int LatestReady(const std::vector<VersionEntry>& entries);
// "v1, v2, v5" over the ready versions (soft-deleted ones marked "(deleted)"), or "none".
std::string DescribeVersions(const std::vector<VersionEntry>& entries);

}  // namespace runtrack::artifacts
