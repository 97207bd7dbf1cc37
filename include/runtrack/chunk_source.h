// Where artifact chunks come from when the store's own blobs/ lacks them.
//
// An ArtifactHandle reads every chunk from <root>/blobs/<hh>/<sha256> (the default, and the only
// source unless one is attached with ArtifactHandle::ReadingMissingChunksFrom). A chunk missing
// there is asked of the attached ChunkSource (e.g. a team's object store, which lives outside the
// library: apps/runicorn/service/s3/object_chunk_source.h). Whatever a source returns is checked
// by the reader against the chunk's size and SHA-256 name before any byte is used, so a source
// cannot make a reader hand out wrong bytes; a source should still verify what it can, to name
// where bad bytes came from.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runtrack {

// Thread safety: Read may be called from any number of threads at once (downloads assemble a
// file's chunks on several threads, and many downloads run at once).
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;

  // The bytes of chunk `sha256_hex` (64 lower-case hex digits), which should be `size` bytes:
  // a source returns no more than `size` bytes (Corruption instead), so a bad object can never
  // make a reader hold more than one chunk in memory. NotFound when the source lacks the chunk;
  // any other error as it happened (IOError for an unreachable source).
  virtual Result<std::string> Read(std::string_view sha256_hex, uint64_t size) const = 0;
  // Names the source in messages ("s3://bucket/prefix").
  virtual std::string Describe() const = 0;
};

}  // namespace runtrack
