// Garbage collection of the bucket's chunk objects (`runicorn gc --objects`), with the local
// collector's rule (lib/artifacts/gc.cpp): a chunk goes only when nothing references it and it is
// older than the grace period.
//
// "Nothing references it" means no store's published list names it (chunk_references.h): the
// collector first publishes its own store's list, then reads every list, then lists the chunks
// (ListObjectsV2, 1000 keys a page) and deletes the unreferenced ones whose LastModified is older
// than the grace period, one DELETE each (idempotent; DeleteObjects would need Content-MD5 and
// an XML body for a saving that does not matter at gc's rate). The grace period protects a chunk
// a writer uploaded before its version's manifest was published and listed: a new upload is
// fresh. Keys under chunks/ that are not chunk names are left alone.
//
// Residual window (as for the local collector): a store that reuses an old unreferenced chunk
// (HEAD finds it, no upload, so its LastModified stays old) and publishes its list after this
// collector read the lists. Its mirror publishes within one pass (2 s), and its blobs/ still
// holds the chunk; choose a grace period well above that.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "runtrack/status.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

// Sealed segment and LOD objects (<prefix>/segments/, object_segment_store.h), collected by the
// same rule: no store's segment reference list (object_segment_references.h) names the series,
// and older than the grace period. gc only reads those lists: the viewer's segment publisher,
// which holds the catalog, writes its store's list (a permanently deleted run leaves it within
// one pass).
struct BucketSegmentGcReport {
  uint64_t objects_removed = 0;   // .seg and .lod objects deleted (or, dry run, that would be)
  uint64_t bytes_freed = 0;
  uint64_t objects_kept = 0;      // named by some store's list
  uint64_t objects_in_grace = 0;  // unnamed but younger than the grace period
  uint64_t reference_lists = 0;   // segment reference lists read
};

struct BucketGcReport {
  uint64_t objects_removed = 0;   // chunk objects deleted (or, dry run, that would be)
  uint64_t bytes_freed = 0;
  uint64_t objects_kept = 0;      // referenced by some store's list
  uint64_t objects_in_grace = 0;  // unreferenced but younger than the grace period
  uint64_t reference_lists = 0;   // stores whose lists were read (this one included)
  BucketSegmentGcReport segments;
};

struct BucketGcOptions {
  std::chrono::seconds grace{3600};
  bool dry_run = false;
  // "Now" for the age test (seconds since the epoch); 0 = the clock. Tests pass one.
  double now = 0;
};

// `referenced` are this store's chunks (ArtifactStore::ReferencedChunks), published first. Every
// list (chunk and segment) is read before anything is deleted, so an unreadable one stops gc with
// nothing removed; then chunks, then segment objects are collected.
runtrack::Result<BucketGcReport> CollectBucketChunks(ObjectChunkStore& objects, const std::filesystem::path& root,
                                                    const std::vector<std::string>& referenced,
                                                    const BucketGcOptions& options);

}  // namespace runicorn::service::s3
