// Reclaiming what killed or failed ArtifactStore::Log() calls left behind: their new chunks and
// temporary files, at once, with no grace period, while live writers keep everything they claimed.
//
// A Log() announces every chunk it will reference in its claim file before touching the chunk
// (writer_claim.h). A claim file whose flock can be taken is abandoned. The collector:
//   1. takes an flock on <root>/artifacts/.writers itself (one collector at a time; busy: reclaim
//      nothing now),
//      and puts back anything a collector that crashed left in quarantine;
//   2. sorts claim files into live (locked: their chunks are protected) and abandoned;
//   3. reads the chunks every retained manifest references; candidates = chunks listed by
//      abandoned claims that no manifest references and no live claim lists;
//   4. renames each candidate into <writers>/.quarantine/ (so a writer that looks it up from now on
//      finds it missing and writes it again);
//   5. reads every claim file present again (a writer that started after step 2, or finished) and
//      the manifests again (one published since step 3), and moves back every candidate they name;
//   6. deletes the rest, the abandoned writers' temporaries and their claim files.
// A writer that looked a candidate up before step 4 had claimed it before that, so step 5 sees its
// claim, or its manifest if it has already finished. A concurrent download of a version that
// reuses such a chunk can find it missing between steps 4 and 5 (NotFound; retrying succeeds).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

struct ReclaimReport {
  uint64_t abandoned_writers = 0;    // claim files of dead writers removed
  uint64_t chunks_removed = 0;
  uint64_t temporaries_removed = 0;  // .tmp-* chunk files of dead writers
  uint64_t bytes_freed = 0;          // chunks and temporaries
};

// Runs the protocol above. `live_claims` (optional) receives the chunks live writers claim, which
// a sweep must never remove whatever their age. Corruption (and nothing removed) if a retained
// manifest cannot be read, since its chunks would be unknown.
Result<ReclaimReport> ReclaimAbandonedWriters(const Layout& layout, std::unordered_set<std::string>* live_claims);

}  // namespace runtrack::artifacts
