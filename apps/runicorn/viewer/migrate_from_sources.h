// What `runicorn migrate --from` reads from the team back end besides PgRunCatalog's runs:
//   - every artifact name with all its claimed numbers, exact manifests, user aliases and lineage,
//     read from PostgreSQL's artifact tables (schema migration 2) in one REPEATABLE READ snapshot,
//     in ArtifactStore::Export's shape, so runtrack::ImportArtifactName installs it;
//   - every run's sealed series, found by listing the bucket's `segments/` prefix (the keys name
//     run, series, point count and footer CRC; sizes come from the listing).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/status.h"
#include "service/s3/object_segment_store.h"

namespace runicorn::viewer {

struct PgArtifactExport {
  runtrack::ExportedArtifactName name;
  int last_version = 0;  // the highest number ever claimed (pending ones included)
};

struct PgArtifactSnapshot {
  std::vector<PgArtifactExport> names;  // sorted by name
  // Per run: the versions it produced and used, sorted by (name, version).
  std::map<std::string, std::vector<runtrack::ArtifactRef>> produced, used;
};

// Every name in the PostgreSQL catalog at `conninfo`. Corruption for a row this build cannot read
// (an unknown type or state).
runtrack::Result<PgArtifactSnapshot> ReadPgArtifacts(const std::string& conninfo);

// Whether the database holds the runicorn schema (a `runs` table): a source without one has
// nothing to copy, and opening it as a catalog would create the schema there.
runtrack::Result<bool> HasRunicornSchema(const std::string& conninfo);

// The sealed series in the bucket, per run id: for each series the object with the most points
// (a series re-sealed after it grew has several; the newest holds them all), with both sizes
// (lod_size 0 when its LOD object is absent). Objects of another shape are ignored. A series
// with two different objects of the same count (two sealings) is decided by the bucket's
// published segment reference lists; if they do not decide, FailedPrecondition naming both.
runtrack::Result<std::map<std::string, std::vector<runtrack::SealedObjectRef>>> ListBucketSeries(
    service::s3::ObjectSegmentStore& bucket);

}  // namespace runicorn::viewer
