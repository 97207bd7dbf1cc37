// Owner-only files of the training service API (users.json, token_key): read whole, replaced
// atomically. Not a general file utility: every write is mode 0600 from its first byte, so a
// password hash or signing key is never readable by another user, even for an instant.
//
// Thread safety: pure functions over the file system; concurrent writers of one file each
// publish a complete file (the last rename wins).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runtrack/status.h"

namespace runicorn::service {

// NotFound when the file does not exist.
runtrack::Result<std::string> ReadSecretFile(const std::filesystem::path& path);
// Writes a temporary sibling (O_EXCL, 0600), fsyncs it and renames it over `path`.
runtrack::Status WriteSecretFile(const std::filesystem::path& path, std::string_view content);
// Creates `path` with `content` only if it does not exist yet (link(2) of a complete temporary
// file: of racing creators exactly one wins). Returns the file's content afterwards — the
// winner's, which may not be `content`.
runtrack::Result<std::string> CreateSecretFileOnce(const std::filesystem::path& path, std::string_view content);

}  // namespace runicorn::service
