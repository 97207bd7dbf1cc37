// Re-assembles one file of a manifest from its chunks, verifying every chunk against its SHA-256
// name as it is read: the read half of ArtifactHandle::Download and ReadFile.
//
// Chunks are independent, so for a large file several threads read and verify chunks at once,
// while the calling thread places them in file order (one writer per file: OrderedAssembly in
// the .cpp says why). Per-chunk verification is complete: the manifest (itself checked against
// its manifest_digest when loaded) fixes the order and sizes of the chunks, so a file whose every
// chunk matches its name is the file that was logged. The whole-file digest is therefore not
// recomputed; it would be a second SHA-256 pass over every byte, and a sequential one.
#pragma once

#include <cstdint>
#include <functional>

#include "artifacts/layout.h"
#include "artifacts/manifest.h"
#include "runtrack/chunk_source.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

// Where the bytes of a file go. Destination is called from any of the assembling threads (for
// disjoint ranges); Place only from the calling thread, in file order.
class AssemblySink {
 public:
  virtual ~AssemblySink() = default;
  // Memory to read the chunk at `offset` into, or nullptr: then the chunk file is mapped and
  // Place gets the mapping.
  virtual uint8_t* Destination(uint64_t offset) = 0;
  // Called with the chunk's bytes once they are verified.
  virtual Status Place(uint64_t offset, const uint8_t* data, uint64_t n) = 0;
};

// Corruption (naming the file and the chunk) for a chunk that does not match its name or size,
// NotFound for a missing chunk; the error of the earliest failing chunk wins. `on_progress` runs
// on the calling thread only, with the bytes of this file done so far. A chunk missing from
// blobs/ is read from `missing` when given (verified the same way; at most one chunk per slot of
// the assembly window is held in memory).
Status AssembleFile(const Layout& layout, const FileRecord& file, AssemblySink& sink,
                    const std::function<void(uint64_t bytes_done)>& on_progress,
                    const ChunkSource* missing = nullptr);

// Reads one chunk of `file` into `buf` (chunk.size bytes) and verifies it against its name, with
// the same errors as AssembleFile: the sequential path of ArtifactFileReader.
Status ReadVerifiedChunk(const Layout& layout, const FileRecord& file, const ChunkRef& chunk, uint8_t* buf,
                         const ChunkSource* missing = nullptr);

}  // namespace runtrack::artifacts
