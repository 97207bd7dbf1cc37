// The chunk reference list of a shared artifact catalog (PostgreSQL): the chunks its retained
// versions reference (PgArtifactRepository::ReferencedChunks), published to the bucket in the
// format of chunk_references.h so `runicorn gc --objects`, which keeps every chunk any list names,
// never deletes a chunk a catalog-held version needs (docs/SCALE-OUT.md "Artifact ingest on
// PostgreSQL").
//
// Key: <prefix>/refs/catalog-<16 hex> — not a store's key, so `gc --objects` run on a replica's
// store (which rewrites that store's own list from its local manifests) never drops it. Each
// replica publishes its own copy (the hex covers the replica's store too), so two replicas never
// overwrite each other's newer view with an older one; a replica gone for good leaves a list that
// keeps more than needed until it is deleted by hand, never less.
//
// Thread safety: Publish may be called from several threads (passes serialised); the background
// thread is started and stopped by the owner.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/periodic_pass.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::service::s3 {

// "catalog-" + 16 hex digits of SHA-256 of "catalog <catalog_id>|<store display name of root>".
std::string CatalogReferencesKey(const std::string& catalog_id, const std::filesystem::path& root);

class CatalogReferencesPublisher {
 public:
  using ReferencesFn = std::function<runtrack::Result<std::vector<std::string>>()>;
  // `catalog_id` names the catalog for the key and the list's `store` line (no secret in it: a
  // host and database name, say); `references` returns what the catalog's versions reference.
  CatalogReferencesPublisher(std::shared_ptr<ObjectChunkStore> objects, std::string catalog_id,
                             const std::filesystem::path& root, ReferencesFn references);
  ~CatalogReferencesPublisher() { Stop(); }

  // One pass: uploads the list when it differs from the last one uploaded. true: uploaded.
  runtrack::Result<bool> Publish();
  // Publish every `period` until Stop(); a failure is printed once per distinct message and the
  // next pass retries.
  void StartInBackground(std::chrono::milliseconds period);
  void Stop();

 private:
  std::shared_ptr<ObjectChunkStore> objects_;
  std::string key_;      // the object key
  std::string display_;  // the list's `store` line
  ReferencesFn references_;
  std::mutex pass_mu_;
  std::optional<std::vector<std::string>> published_;  // guarded by pass_mu_

  PeriodicPass background_;
};

}  // namespace runicorn::service::s3
