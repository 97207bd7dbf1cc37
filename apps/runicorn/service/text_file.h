// Whole small files of the service layer's own (training jobs, model caches): read at once, written
// to a temporary name and renamed, so a reader sees the whole file or none.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::service {

// NotFound "cannot read FILE" when it cannot be opened.
runtrack::Result<std::string> ReadTextFile(const std::filesystem::path& path);
// IOError "cannot write FILE.tmp" / "cannot rename FILE.tmp: why".
runtrack::Status WriteTextFileAtomic(const std::filesystem::path& path, std::string_view content);

}  // namespace runicorn::service
