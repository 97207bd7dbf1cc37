// Finding the runs of a Runicorn store (notes §2.1), in Runicorn's own order.
//
//   v0.6:  <from>/runs/<path segments...>/<run_id>/   a folder holding meta.json or status.json
//          is a run (not descended into), any other folder is a path segment. A v0.1 run
//          <from>/runs/<run_id>/ is the special case of an empty path.
//   v0.5:  <from>/<project>/<name>/runs/<run_id>/     every top-level folder except runs, webui,
//          archive, index and artifacts is a project.
// Folders are visited sorted by lower-cased name. Symbolic links are never followed: each one met
// is reported and skipped, so the walk cannot leave the source root.
//
// Thread-safe: no shared state.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "import/source_files.h"

namespace runtrack::importer {

struct SourceRunDir {
  fs::path dir;         // absolute
  std::string rel;      // relative to the source root, '/'-separated
  std::string id;       // the folder name (Runicorn finds runs by it)
  std::string project;  // v0.5: the project folder; v0.6: the first path segment or "default"
  std::string name;     // v0.5: the name folder; v0.6: the other segments joined by '/' or "default"
  std::string layout;   // "v0.5" or "v0.6"
};

std::vector<SourceRunDir> ScanRunicornRuns(const fs::path& from, const SkipLog& log);

}  // namespace runtrack::importer
