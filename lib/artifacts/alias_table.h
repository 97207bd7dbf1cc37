// User aliases of one artifact name: one file per alias, aliases/<alias>, holding the version
// number in decimal. Replacing the file atomically (tmp + rename) is what makes "an alias points
// to exactly one version" hold without locks: moving an alias is one rename. "latest" is never
// stored; it is computed as the newest ready version.
#pragma once

#include <map>
#include <string>

#include "artifacts/layout.h"
#include "runtrack/status.h"

namespace runtrack::artifacts {

// alias -> version; entries with invalid names or contents are ignored. Absent dir: empty map.
Result<std::map<std::string, int>> ReadAliases(const fs::path& aliases_dir);
Status WriteAlias(const fs::path& aliases_dir, const std::string& alias, int version, bool sync);
// NotFound if the alias does not exist.
Status RemoveAliasFile(const fs::path& aliases_dir, const std::string& alias);

}  // namespace runtrack::artifacts
