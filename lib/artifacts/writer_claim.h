// WriterClaim: how a running ArtifactStore::Log() tells collectors which chunks it is about to
// reference, and that it is still alive.
//
//   <root>/artifacts/.writers/<token> one chunk name (64 hex) per line, appended as the writer goes;
//                                     the writer holds flock(LOCK_EX) on it until it is done
//
// Liveness comes from the lock, not from timestamps: the kernel drops a flock when its holder dies,
// so a claim file whose lock can be taken belongs to a Log() that was killed or failed, and the
// chunks it lists that no manifest references are garbage at once (see abandoned_writers.h).
// A chunk name is appended before the writer looks the chunk up, touches or writes it; that order
// is what lets a collector remove a dead writer's chunks while other writers run.
//
// The file is created under a temporary name, locked, then linked to <token>, so a collector never
// sees an unlocked claim file of a live writer. (A collector may take and remove a temporary one
// in the instant before its creator locks it; the creator then starts over with a new token.) A successful Log() removes its file after its
// manifest is published (Retire); a failed or killed one leaves it for the next Log() or Gc().
// Record() may be called from any number of threads at once.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

// <root>/artifacts/.writers: claim files, and the collectors' quarantine (abandoned_writers.h).
inline fs::path WritersDir(const Layout& layout) { return layout.artifacts_dir() / ".writers"; }

// The temporary file a writer with claim `token` stages chunk `hex` in, beside the chunk's name:
// "<root>/blobs/<hh>/.tmp-<hex>-<token>". A collector finds a dead writer's temporaries this way.
fs::path ChunkTmpPath(const Layout& layout, const std::string& hex, const std::string& token);

class WriterClaim {
 public:
  // Creates and locks a fresh claim file.
  static Result<WriterClaim> Create(const Layout& layout);
  WriterClaim(WriterClaim&& other) noexcept;
  WriterClaim& operator=(WriterClaim&&) = delete;
  // Releases the lock; the file stays (unless retired) and marks an abandoned Log().
  ~WriterClaim();

  const std::string& token() const { return token_; }
  // Appends `hex` to the claim. Must precede every look-up, touch or write of that chunk.
  Status Record(const std::string& hex);
  // The writer's manifest is published: its chunks are referenced, the claim is no longer needed.
  void Retire();

 private:
  WriterClaim(int fd, fs::path path, std::string token) : fd_(fd), path_(std::move(path)), token_(std::move(token)) {}

  int fd_ = -1;
  fs::path path_;
  std::string token_;
  std::mutex mu_;  // one line per write, never interleaved
};

// The chunk names listed in a claim file; a torn last line (writer killed mid-append) is ignored.
Result<std::vector<std::string>> ReadClaim(const fs::path& path);

}  // namespace runtrack::artifacts
