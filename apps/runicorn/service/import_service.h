// Converting an existing Runicorn store into ours (`runicorn import --from-runicorn DIR`). The
// import writes run folders and artifact versions straight into the store (no catalog), so it runs
// while a viewer serves the same store: the viewer's indexer picks the new runs up.
//
// Thread safety: see runtrack/import.h (two imports into one store at once are safe).
#pragma once

#include <filesystem>

#include "runtrack/import.h"
#include "runtrack/status.h"

namespace runicorn::service {

// NotFound "Runicorn store not found: DIR" when `from` is no directory; InvalidArgument when it is
// the target store itself or lies inside it (the import would read what it writes); otherwise
// runtrack::ImportRunicornStore's result.
runtrack::Result<runtrack::ImportReport> ImportRunicornStore(const std::filesystem::path& from,
                                                             const std::filesystem::path& store_root,
                                                             const runtrack::ImportOptions& options);

}  // namespace runicorn::service
