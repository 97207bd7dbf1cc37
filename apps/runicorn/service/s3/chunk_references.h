// Which chunks in the bucket some store still needs. A bucket prefix is shared by every store
// (machine) of a team, and each store's manifests live on its own disk, so a collector cannot
// see them all: instead every store publishes the list of chunks its retained versions reference
// as <prefix>/refs/<store key>, and a collector keeps every chunk named by any list.
//
// Object format (text, one item a line):
//   runicorn-chunk-references 1
//   store <host>:<root>            (for people: which store wrote it)
//   <sha256 hex>                   (sorted, one per referenced chunk)
// A list that is not in this format makes collection refuse (Corruption): its chunks are unknown.
// To forget a store that is gone for good, delete its list; until then its chunks are kept.
//
// Thread safety: free functions; safe from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtrack/status.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

// A stable name for the store at `root` on this machine: 16 hex digits of SHA-256 of
// "<hostname>:<canonical root>" (so two stores, or one store on two machines, never share a list).
std::string StoreReferencesKey(const std::filesystem::path& root);
// "<hostname>:<canonical root>": the `store` line of a reference list (for people reading it).
std::string StoreDisplayName(const std::filesystem::path& root);

// Writes this store's list (`digests` sorted or not) to <prefix>/refs/<store_key>.
runtrack::Status PublishChunkReferences(ObjectChunkStore& objects, const std::filesystem::path& root,
                                        const std::vector<std::string>& digests);

struct BucketReferences {
  std::unordered_set<std::string> chunks;  // union of every list
  uint64_t lists = 0;                      // reference lists read
};
// Every store's list under <prefix>/refs/, merged.
runtrack::Result<BucketReferences> ReadChunkReferences(ObjectChunkStore& objects);

// The text of one list, and its parser (exposed for tests).
std::string FormatChunkReferences(const std::string& store, std::vector<std::string> digests);
runtrack::Status ParseChunkReferences(std::string_view text, std::unordered_set<std::string>* out);

}  // namespace runicorn::service::s3
