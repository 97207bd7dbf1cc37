// Pull sync of a run the remote store compacted (docs/REMOTE.md "Pull sync of a compacted run"):
// its journal no longer holds its points, so it cannot be mirrored by offsets. Used by PullSync
// (pull_sync.cpp) for a run with a single journal (stream "0") and a `segments` folder, the only
// runs a store compacts.
//
// What travels: the compacted journal whole and every segment/LOD file its Compacted record
// names (names built locally from the record's numbers, never taken from a remote listing), each
// checked whole by the installer before anything is written. A run the local store already has
// whole costs no read (the same compacted journal, its files present) or two small ones (the
// original journal to its end: the remote head and its Compacted record).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::service::ssh {

// A sealed file is fetched in SFTP reads of at most this many bytes, each written on to a stage
// file in the run's local folder (runtrack::CompactedRunStage) before the next is read: a fetch
// holds one read in memory, whatever the file's size.
inline constexpr uint64_t kSealedFileReadBytes = 256 * 1024;
static_assert(kSealedFileReadBytes <= (1u << 20), "a sealed-file read stays within 1 MiB");

// Test hook: the largest buffer one sealed-file read has returned in this process (bytes), so a
// test can assert the memory bound without timing anything.
uint64_t LargestSealedFileReadForTesting();

// `path`/`remote_size`: the remote run's journal as listed; `local_length`: the local copy's
// durable length as the receiver answers it (a compacted local journal counts its original
// length). Returns false when the remote journal is not compacted (the caller pulls it by
// offsets; `out->bytes_fetched` counts the head read to tell), true when this handled the run:
// found up to date, or installed. Errors name the run and, for a sealed file, the file.
runtrack::Result<bool> PullIfCompacted(SshSession& session, const runtrack::StoreLayout& remote,
                                       const std::string& run_id, const std::string& path, uint64_t remote_size,
                                       uint64_t local_length, const CompactedRunTarget& target, PulledStream* out);

}  // namespace runicorn::service::ssh
