// Reads one file, cuts it with FastCDC, hashes and stores each chunk, and computes the whole-file
// digest: the write half of Log().
//
// A pipeline: the calling thread reads the file in segments and cuts each one (sequential: a cut
// depends on the previous one); one thread feeds the segments to the whole-file SHA-256 (also
// sequential); worker threads hash and write the segment's chunks (independent of each other)
// and, with sync, publisher threads wait for their fdatasync and rename them into place.
// Segments rotate through a small ring, so reading segment i overlaps storing i-1 and i-2. All
// threads are joined before IngestFile returns: none outlives it (processes may fork after a
// Log()). Small files run on the calling thread alone.
#pragma once

#include <filesystem>
#include <set>

#include "artifacts/chunk_store.h"
#include "artifacts/fastcdc.h"
#include "artifacts/manifest.h"

namespace runtrack::artifacts {

struct IngestStats {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;  // new chunk bytes
  uint64_t chunks = 0;
  uint64_t new_chunks = 0;
};

// Fills `record` (everything but `path`). NotFound if the file vanished, InvalidArgument if it is
// no longer a regular file.
Status IngestFile(const std::filesystem::path& source, const FastCdc& cdc, ChunkStore& store,
                  FileRecord* record, std::set<std::filesystem::path>* dirty_dirs, IngestStats* stats);

}  // namespace runtrack::artifacts
