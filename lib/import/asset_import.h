// Importing Runicorn v0.6 assets (notes §1.3 log_dataset / log_pretrained / snapshot_code /
// scan_outputs_once, §2.2 assets.json, §2.6 archive/) as artifact versions of our ArtifactStore.
//
// A run's assets.json lists what it used (datasets, pretrained models) and produced (the code
// snapshot, archived outputs). Each entry becomes one version:
//
//   entry                               type     name                     relation
//   code.snapshot (saved)               code     "code-<project>"         produced
//   datasets[] (saved or only a URI)    dataset  entry name               used
//   pretrained[] (saved or only a URI)  model    entry name               used
//   outputs[] (saved)                   custom   entry name               produced
//
// Files come from the archive, located by the part of archive_path after its last "/archive/" (a
// store moved since it was written still resolves): archive/blobs/<hh>/<sha256> is one file (named
// after the source's base name) whose digest is its name; archive/manifests/.../<fp>.json lists
// files {rel: {sha256, size_bytes}} stored as blobs; archive/outputs/rolling/<run>/<key>_<name> is a
// plain copy (file, or folder without its .complete marker). An entry that was not saved but has a
// URI becomes a version with that URI as a reference. Links anywhere on the way are refused.
//
// Identity and idempotency: Runicorn keys assets by fingerprint (its index's UNIQUE(asset_type,
// fingerprint)). The key "<section>:<fingerprint>" (or "<section>:uri:<uri>") is stored in the
// version's metadata as "runicorn_asset_key"; an entry whose key a version of that name already
// carries reuses that version (only the lineage edge is added), so a dataset used by ten runs is
// one version, and importing again creates nothing.
#pragma once

#include <set>
#include <string>

#include "import/run_import.h"
#include "import/source_scan.h"
#include "runtrack/artifacts.h"
#include "runtrack/import.h"

namespace runtrack::importer {

// Imports the assets of one v0.6 run (a run without assets.json yields nothing). `store` is null
// in a dry run: versions are then only reported ("<type>/<name>:new"), and `dry_run_keys` (shared
// by the runs of one import) remembers them so a dataset used by several runs is planned once.
// Returns the run's links (for its journal's Artifact records); errors only when writing the
// target fails.
Result<RunLinks> ImportRunAssets(const SourceRunDir& run, const fs::path& from, ArtifactStore* store,
                                 std::set<std::string>* dry_run_keys, const SkipLog& log, ImportReport* report);

}  // namespace runtrack::importer
