// Content-addressed chunk files: <root>/blobs/<first two hex digits>/<sha256 hex>.
//
// A chunk file is only ever created by renaming a complete temporary file onto its name, so a
// reader sees the whole chunk or no chunk. Two writers storing the same chunk race harmlessly
// (identical bytes). Storing a chunk that already exists refreshes its modification time, which
// is what keeps Gc() (grace period) from deleting a chunk a writer is about to reference.
// Thread-safe and multi-process safe.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

class ChunkStore {
 public:
  ChunkStore(const Layout& layout, bool sync) : layout_(layout), sync_(sync) {}

  // Stores `n` bytes under `hex` unless a chunk of that size already exists. Returns true if new
  // bytes were written. Adds the directory it wrote into to `dirty_dirs` (see SyncDirs).
  Result<bool> Put(const std::string& hex, const void* data, size_t n, std::set<fs::path>* dirty_dirs);
  // fsyncs the fan-out directories new chunks were renamed into (no-op without sync).
  Status SyncDirs(const std::set<fs::path>& dirty_dirs) const;

  fs::path PathOf(const std::string& hex) const { return layout_.blob_path(hex); }
  bool syncs() const { return sync_; }

 private:
  const Layout& layout_;
  bool sync_;
};

}  // namespace runtrack::artifacts
