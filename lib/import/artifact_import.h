// Importing Runicorn v0.4/v0.5 artifacts (notes §1.5, §2.5, §5) into our ArtifactStore, and the
// run <-> artifact lineage edges recorded in its runs' artifacts_created.json / artifacts_used.json.
//
//   <from>/artifacts/<type>/<name>/versions.json        {"versions":[...], "aliases":{alias: N}}
//   <from>/artifacts/<type>/<name>/v<N>/metadata.json   description, metadata, tags, created_at,
//                                                       created_by_run, aliases
//   <from>/artifacts/<type>/<name>/v<N>/manifest.json   files [{path, size, digest}], references
//   <from>/artifacts/<type>/<name>/v<N>/files/<path>    the bytes (often hard links into .dedup)
//   <from>/artifacts/<type>/<name>/v<N>/.deleted        soft-deleted
//
// Version numbers, created_at, created_by_run, description, metadata, tags, references and the
// soft-deleted state are kept (artifact_version_writer.h); numbers Runicorn lost to a permanent
// delete become purged tombstones. File bytes are checked against Runicorn's sha256 digests.
// Mapping details and what is skipped: docs/IMPORT.md.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "import/run_import.h"
#include "import/source_files.h"
#include "runtrack/artifacts.h"

namespace runtrack::importer {

struct SourceArtifactVersion {
  ArtifactType type = ArtifactType::kCustom;
  std::string name;
  int version = 0;
  fs::path dir;
  std::string rel;
};

struct SourceArtifactName {
  ArtifactType type = ArtifactType::kCustom;
  std::string name;
  std::string rel;
  std::map<std::string, int> aliases;  // from versions.json, "latest" excluded
};

struct SourceArtifacts {
  std::vector<SourceArtifactName> names;
  std::vector<SourceArtifactVersion> versions;  // grouped by name, ascending version
};

// Finds every artifact version; bad names and unusable folders are reported and left out.
Result<SourceArtifacts> ScanRunicornArtifacts(const fs::path& from, const SkipLog& log);

// Imports the versions (unless dry_run), then the aliases, then the lineage edges of `links`
// (run id -> records of a run present in the target). Fills the artifact parts of `report`;
// `step` is called once per version. Fails only when the target cannot be written.
Status ImportArtifacts(const SourceArtifacts& source, const fs::path& from, const fs::path& root, bool dry_run,
                       const std::map<std::string, RunLinks>& links, const SkipLog& log, ImportReport* report,
                       const std::function<void(std::string_view)>& step);

}  // namespace runtrack::importer
