#include "artifacts/alias_table.h"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/files.h"
#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

Result<std::map<std::string, int>> ReadAliases(const fs::path& aliases_dir) {
  std::map<std::string, int> out;
  std::error_code ec;
  fs::directory_iterator it(aliases_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IOError("list " + aliases_dir.string() + ": " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string alias = it->path().filename().string();
    if (!ValidateAliasName(alias).ok()) continue;  // also skips ".tmp-*" files of a writer
    auto text = util::ReadFile(it->path());
    if (!text.ok()) continue;  // removed meanwhile
    int v = 0;
    try {
      v = std::stoi(*text);
    } catch (...) {
      continue;
    }
    if (v > 0) out[alias] = v;
  }
  return out;
}

Status WriteAlias(const fs::path& aliases_dir, const std::string& alias, int version, bool sync) {
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(aliases_dir));
  return util::WriteFileAtomic(aliases_dir / alias, std::to_string(version) + "\n", sync);
}

Status RemoveAliasFile(const fs::path& aliases_dir, const std::string& alias) {
  fs::path p = aliases_dir / alias;
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("alias '" + alias + "' does not exist");
    return util::ErrnoStatus("unlink", p, errno);
  }
  return Status::Ok();
}

}  // namespace runtrack::artifacts
