// Imports one Runicorn run folder (notes §1.4, §2.2, §2.7, §6) as a runtrack run. Mapping and skip
// rules: docs/IMPORT.md.
//
// Thread-safe: distinct runs may be imported from different threads.
#pragma once

#include <string>
#include <vector>

#include "import/source_scan.h"
#include "runtrack/import.h"
#include "runtrack/layout.h"

namespace runtrack::importer {

// A lineage record of the run (artifacts_created.json / artifacts_used.json).
struct ArtifactLink {
  std::string name;
  std::string type;
  int version = 0;
};

struct RunLinks {
  std::vector<ArtifactLink> produced;
  std::vector<ArtifactLink> used;
};

// Reads `source` and, unless `dry_run`, publishes it as layout.run_dir(source.id) (the caller has
// checked that the id is valid and absent). Problems inside the run are added to `log`; the
// return value is an error only when writing the target fails, or AlreadyExists when another
// importer published the same id first. `links` receives the run's lineage records
// (artifacts_created.json / artifacts_used.json); `asset_links` (its v0.6 assets, already in the
// artifact store, see asset_import.h) are written as Artifact records of its journal too.
Result<ImportedRun> ImportRun(const SourceRunDir& source, const StoreLayout& layout, bool dry_run,
                              const SkipLog& log, RunLinks* links, const RunLinks& asset_links = {});

// Only the lineage records of a run, without reports: for a run an earlier import already
// published, whose edges are recorded again (idempotently) in case that import stopped before them.
RunLinks ReadRunLinks(const SourceRunDir& source);

}  // namespace runtrack::importer
