#include "service/import_service.h"

#include <algorithm>

#include <fmt/format.h>

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Status;

runtrack::Result<runtrack::ImportReport> ImportRunicornStore(const fs::path& from, const fs::path& store_root,
                                                             const runtrack::ImportOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(from, ec)) return Status::NotFound(fmt::format("Runicorn store not found: {}", from.string()));
  const fs::path source = fs::weakly_canonical(fs::absolute(from, ec), ec);
  const fs::path target = fs::weakly_canonical(fs::absolute(store_root, ec), ec);
  // A source inside the target (or the target itself) would be walked while runs are written.
  auto [t, s] = std::mismatch(target.begin(), target.end(), source.begin(), source.end());
  if (t == target.end())
    return Status::InvalidArgument(
        fmt::format("the Runicorn store {} is the target store or inside it ({})", from.string(), store_root.string()));
  return runtrack::ImportRunicornStore(from, store_root, options);
}

}  // namespace runicorn::service
