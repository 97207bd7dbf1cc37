// The chunks the retained (ready or soft-deleted) versions of a store reference: what no
// collector may remove.
#pragma once

#include <string>
#include <unordered_set>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

// Corruption naming the version if any retained manifest cannot be read: its chunks are unknown.
Result<std::unordered_set<std::string>> ReferencedChunks(const Layout& layout);

}  // namespace runtrack::artifacts
