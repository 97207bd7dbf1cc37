// Which sealed segment objects in the bucket some store still needs: the segment counterpart of
// chunk_references.h, as a parallel list per store, <prefix>/segment-refs/<store key> (same
// store key as the chunk list). The viewer's segment publisher writes it (its catalog knows the
// store's sealed series; `gc` may run while the viewer holds the catalog, so gc only reads these
// lists), and gc keeps every segment object some list names.
//
// Object format (text, one item a line):
//   runicorn-segment-references 1
//   store <host>:<root>                         (for people: which store wrote it)
//   <run id>/<series>-<count>-<footer crc>      (sorted; ObjectSegmentStore::NameOf, covering
//                                                both the .seg and the .lod object of that name)
// A store lists the sealed series of runs its catalog holds (soft-deleted ones included) whose
// objects it confirmed in the bucket, so its own list also tells a restarted publisher what it
// need not upload again. A list that is not in this format makes collection refuse (Corruption).
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtrack/status.h"
#include "service/s3/object_segment_store.h"

namespace runicorn::service::s3 {

// The text of one list (names sorted and deduplicated here), and its parser (names into *out).
std::string FormatSegmentReferences(const std::string& store, std::vector<std::string> names);
runtrack::Status ParseSegmentReferences(std::string_view text, std::unordered_set<std::string>* out);

// "<prefix>/segment-refs/<store key of root>".
std::string SegmentReferencesKey(ObjectSegmentStore& objects, const std::filesystem::path& root);
runtrack::Status PublishSegmentReferences(ObjectSegmentStore& objects, const std::filesystem::path& root,
                                          const std::vector<std::string>& names);
// This store's own list as last published; empty when there is none yet.
runtrack::Result<std::unordered_set<std::string>> ReadOwnSegmentReferences(ObjectSegmentStore& objects,
                                                                           const std::filesystem::path& root);

struct BucketSegmentReferences {
  std::unordered_set<std::string> names;  // union of every list
  uint64_t lists = 0;
};
// Every store's list under <prefix>/segment-refs/, merged.
runtrack::Result<BucketSegmentReferences> ReadSegmentReferences(ObjectSegmentStore& objects);

}  // namespace runicorn::service::s3
