// Publishes a store's artifact chunks (local blobs/<hh>/<sha256>, written by training processes
// through runtrack::ArtifactStore) to the team's bucket (ObjectChunkStore), so every chunk logged
// on this machine lands once in the shared pool. `runicorn viewer --objects` runs one pass at
// start and then one every few seconds in the background.
//
// A pass lists blobs/ and uploads each chunk not yet known to be in the bucket: HEAD first, so a
// chunk another replica already uploaded costs one HEAD and no bytes. Chunks confirmed in the
// bucket are remembered, so later passes cost a directory listing only. A chunk file is only
// ever created complete (tmp + rename), so a pass never uploads half a chunk; temporaries (names
// that are not 64 hex digits) are skipped. A chunk whose bytes do not match its name (a corrupt
// disk) is reported and never uploaded.
//
// With PublishReferencesOf, a pass also keeps the store's list of referenced chunks in the bucket
// current (chunk_references.h: what `gc --objects` on any store must keep), uploading it when it
// changed since the last upload.
//
// Thread safety: Push may be called from several threads; passes are serialised.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "runtrack/status.h"
#include "service/periodic_pass.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

struct MirrorReport {
  uint64_t chunks_seen = 0;       // chunk files under blobs/
  uint64_t uploaded = 0;          // PUT this pass
  uint64_t already_present = 0;   // found in the bucket by HEAD this pass
  uint64_t bytes_uploaded = 0;
  uint64_t corrupt = 0;           // local chunk whose bytes differ from its name (skipped)
  bool references_published = false;  // the store's reference list was (re)uploaded this pass
};

class ObjectChunkMirror {
 public:
  ObjectChunkMirror(std::filesystem::path blobs_dir, std::shared_ptr<ObjectChunkStore> objects)
      : blobs_dir_(std::move(blobs_dir)), objects_(std::move(objects)) {}
  ~ObjectChunkMirror() { Stop(); }

  using ReferencesFn = std::function<runtrack::Result<std::vector<std::string>>()>;
  // Call before the first Push: each pass then publishes the list `references` returns for the
  // store at `root` when it changed (a failing call fails the pass, which the next one retries).
  void PublishReferencesOf(std::filesystem::path root, ReferencesFn references) {
    root_ = std::move(root);
    references_ = std::move(references);
  }
  const std::shared_ptr<ObjectChunkStore>& objects() const { return objects_; }

  // One pass. The first failing upload stops the pass and is returned (the next pass retries).
  runtrack::Result<MirrorReport> Push();

  // Runs Push every `period` on a background thread until Stop(); failures are printed to
  // stderr once per distinct message (the S3 client's messages hold no credentials).
  void StartInBackground(std::chrono::milliseconds period);
  void Stop();

 private:
  std::filesystem::path blobs_dir_;
  std::shared_ptr<ObjectChunkStore> objects_;
  std::mutex pass_mu_;
  std::unordered_set<std::string> in_bucket_;  // guarded by pass_mu_
  std::filesystem::path root_;
  ReferencesFn references_;
  std::optional<std::vector<std::string>> published_;  // the list last uploaded; guarded by pass_mu_

  PeriodicPass background_;
};

}  // namespace runicorn::service::s3
