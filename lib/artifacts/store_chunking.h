// The chunking parameters a store cuts files with, fixed when the store is created.
//
// Cut points depend on the parameters, so a store whose parameters changed would stop sharing
// chunks between new versions and old ones (every version stays readable: manifests list their
// chunks). The first Open records the parameters in <root>/artifacts/chunking.json, published
// with link() so concurrent first opens agree on one record; every later Open uses it.
#pragma once

#include <optional>
#include <string>

#include "artifacts/layout.h"
#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

// The store's chunking. Without a record: records `requested` (or the defaults) and returns it.
// With one: returns it, or FailedPrecondition if `requested` is set and differs. Corruption if
// the record is unreadable or names an algorithm this build does not implement.
Result<ChunkingOptions> ResolveStoreChunking(const Layout& layout, const std::optional<ChunkingOptions>& requested,
                                             bool sync);

// The record's text: {"algorithm":"fastcdc-gear64-nc2","min_size":...,"avg_size":...,"max_size":...}
std::string ChunkingRecord(const ChunkingOptions& c);

}  // namespace runtrack::artifacts
