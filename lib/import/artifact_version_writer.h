// WriteArtifactVersion: the import's narrow hook into the artifact store. It publishes a version
// exactly like ArtifactStore::Log (chunks first, then the version folder, the produced-lineage
// marker and the manifest, published last with a rename; docs/FORMATS-artifacts.md), except that
// the caller chooses the version number and created_at, so an imported version keeps Runicorn's
// number and time, and may publish it soft-deleted.
//
// Idempotency: the number is claimed with mkdir; AlreadyExists (and nothing written besides
// deduplicated chunks, which Gc reclaims if unreferenced) when v<N> exists in any state.
// Thread-safe and multi-process safe like ArtifactStore::Log.
#pragma once

#include <map>
#include <string>

#include "runtrack/artifacts.h"

namespace runtrack::importer {

struct ImportedVersionSpec {
  int version = 0;
  double created_at = 0;
  std::string created_by_run;  // valid run id or empty
  bool soft_deleted = false;   // publish with the `deleted` marker already in place
  // Expected "sha256:<hex>" per artifact path (Runicorn's manifest); a mismatch is Corruption
  // and publishes nothing. Paths missing here are not checked.
  std::map<std::string, std::string> expected_digests;
};

Status WriteArtifactVersion(const ArtifactStore& store, const Artifact& artifact, const ImportedVersionSpec& spec);

// What WriteArtifactVersion checks before writing, without writing (for dry runs): hashes every
// file that has an expected digest. Corruption on a mismatch, NotFound/IOError if unreadable.
Status CheckArtifactDigests(const Artifact& artifact, const ImportedVersionSpec& spec);

// Marks version numbers Runicorn no longer has (permanently deleted there) as purged, so they are
// never reused, as ArtifactStore::Delete(kPermanent) does. No-op when v<N> exists.
Status WritePurgedTombstone(const ArtifactStore& store, ArtifactType type, const std::string& name, int version);

}  // namespace runtrack::importer
