// Content-addressed chunk files: <root>/blobs/<first two hex digits>/<sha256 hex>.
//
// A chunk file is only ever created by renaming a complete temporary file onto its name, so a
// reader sees the whole chunk or no chunk. Two writers storing the same chunk race harmlessly
// (identical bytes). Storing a chunk that already exists refreshes its modification time, which
// is what keeps Gc() (grace period) from deleting a chunk a writer is about to reference.
//
// Storing is two steps so a caller can run them on different threads: Stage (write the bytes,
// CPU and page cache) and Publish (with sync: wait for the device; then rename). One ChunkStore
// serves one Log(). Thread-safe and multi-process safe.
//
// With a WriterClaim, Stage first records the chunk in the claim (so a collector never removes a
// chunk this live writer is about to reference) and names its temporaries after the claim's token
// (so a collector can remove those of a dead writer at once); see writer_claim.h.
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>

#include "artifacts/layout.h"
#include "artifacts/writer_claim.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

// A chunk written to a temporary file beside its name, not yet visible (see Publish).
struct StagedChunk {
  fs::path tmp;
  fs::path path;
};

class ChunkStore {
 public:
  ChunkStore(const Layout& layout, bool sync, WriterClaim* claim = nullptr)
      : layout_(layout), sync_(sync), claim_(claim) {}

  // Writes `n` bytes to a temporary file unless a chunk of that size already exists, in which
  // case it refreshes that chunk's modification time and returns nullopt, or this store already
  // staged chunk `hex` (nullopt too: a chunk repeated within one Log is written once, even
  // while its first copy is still being published). With sync, starts the write-back at once,
  // so Publish's fdatasync finds it finished or under way.
  Result<std::optional<StagedChunk>> Stage(const std::string& hex, const void* data, size_t n);
  // fdatasync (with sync), then renames the chunk onto its name; removes the temporary on failure.
  Status Publish(const StagedChunk& staged);
  // fsyncs the fan-out directories new chunks were renamed into (no-op without sync).
  Status SyncDirs(const std::set<fs::path>& dirty_dirs) const;

  fs::path PathOf(const std::string& hex) const { return layout_.blob_path(hex); }
  bool syncs() const { return sync_; }

 private:
  const Layout& layout_;
  bool sync_;
  WriterClaim* claim_;
  std::mutex mu_;
  std::unordered_set<std::string> staged_;  // chunks this store wrote or is writing
};

}  // namespace runtrack::artifacts
