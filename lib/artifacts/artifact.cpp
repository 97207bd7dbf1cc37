// The Artifact builder: validates what will be logged, records file paths (bytes are read later,
// by ArtifactStore::Log).
#include <fnmatch.h>

#include <algorithm>
#include <system_error>

#include "artifacts/names.h"
#include "util/validation.h"
#include "runtrack/artifacts.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace {

Status RejectDotDot(const fs::path& path) {
  for (const auto& part : path) {
    if (part == "..") {
      return Status::InvalidArgument("path " + path.string() + " contains '..'; pass a path without it");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Artifact> Artifact::Create(std::string name, ArtifactType type) {
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
  return Artifact(std::move(name), type);
}

void Artifact::AddMetadata(const boost::json::object& metadata) {
  for (const auto& kv : metadata) metadata_[kv.key()] = kv.value();
}

Status Artifact::AddTag(std::string tag) {
  if (tag.empty() || tag.size() > 128 || util::HasControlChar(tag) || !util::IsValidUtf8(tag)) {
    return Status::InvalidArgument("tag must be 1..128 bytes of UTF-8 without control characters");
  }
  if (std::find(tags_.begin(), tags_.end(), tag) == tags_.end()) tags_.push_back(std::move(tag));
  return Status::Ok();
}

// Entries are checked against each other so that Download can always materialise them: no two
// files share a name, and no file sits where another file needs a directory.
Status Artifact::AddOne(std::string artifact_path, fs::path source) {
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactPath(artifact_path));
  if (file_paths_.count(artifact_path) != 0) {
    return Status::AlreadyExists("artifact already has a file named '" + artifact_path + "'");
  }
  if (dir_paths_.count(artifact_path) != 0) {
    return Status::AlreadyExists("'" + artifact_path + "' is already a directory of the artifact");
  }
  std::vector<std::string> parents;
  for (size_t slash = artifact_path.find('/'); slash != std::string::npos;
       slash = artifact_path.find('/', slash + 1)) {
    std::string parent = artifact_path.substr(0, slash);
    if (file_paths_.count(parent) != 0) {
      return Status::AlreadyExists("'" + artifact_path + "' needs '" + parent +
                                   "' to be a directory, but it is a file of the artifact");
    }
    parents.push_back(std::move(parent));
  }
  dir_paths_.insert(parents.begin(), parents.end());
  file_paths_.insert(artifact_path);
  files_.push_back(FileSource{std::move(artifact_path), std::move(source)});
  return Status::Ok();
}

Status Artifact::AddFile(const fs::path& path, std::optional<std::string> name) {
  RUNTRACK_RETURN_IF_ERROR(RejectDotDot(path));
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound("file " + path.string() + " does not exist");
  if (fs::is_directory(st)) {
    return Status::InvalidArgument(path.string() + " is a directory; use AddDir for directories");
  }
  if (!fs::is_regular_file(st)) return Status::InvalidArgument(path.string() + " is not a regular file");
  std::string artifact_path = name ? *name : path.filename().string();
  return AddOne(std::move(artifact_path), path);
}

Status Artifact::AddDir(const fs::path& dir, std::optional<std::string> name,
                        const std::vector<std::string>& exclude_globs) {
  RUNTRACK_RETURN_IF_ERROR(RejectDotDot(dir));
  if (name) RUNTRACK_RETURN_IF_ERROR(ValidateArtifactPath(*name));
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::NotFound("directory " + dir.string() + " does not exist");
  if (!fs::is_directory(dir, ec)) {
    return Status::InvalidArgument(dir.string() + " is not a directory; use AddFile for files");
  }
  std::vector<std::pair<std::string, fs::path>> found;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return Status::IOError("list " + dir.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;  // directories, sockets, dangling links
    std::string rel = it->path().lexically_relative(dir).generic_string();
    std::string base = it->path().filename().string();
    bool excluded = false;
    for (const auto& glob : exclude_globs) {
      if (fnmatch(glob.c_str(), rel.c_str(), 0) == 0 || fnmatch(glob.c_str(), base.c_str(), 0) == 0) {
        excluded = true;
        break;
      }
    }
    if (!excluded) found.emplace_back(name ? *name + "/" + rel : rel, it->path());
  }
  if (ec) return Status::IOError("list " + dir.string() + ": " + ec.message());
  // Deterministic order regardless of directory iteration order; all or nothing on a clash.
  std::sort(found.begin(), found.end());
  Artifact copy = *this;
  for (auto& [rel, source] : found) RUNTRACK_RETURN_IF_ERROR(copy.AddOne(rel, source));
  *this = std::move(copy);
  return Status::Ok();
}

Status Artifact::AddReference(std::string uri, std::optional<std::string> checksum, std::optional<uint64_t> size) {
  if (uri.empty() || uri.size() > 4096 || util::HasControlChar(uri) || !util::IsValidUtf8(uri)) {
    return Status::InvalidArgument("reference uri must be 1..4096 bytes of UTF-8 without control characters");
  }
  if (checksum && (checksum->size() > 256 || util::HasControlChar(*checksum) ||
                   !util::IsValidUtf8(*checksum))) {
    return Status::InvalidArgument("reference checksum must be at most 256 bytes of printable UTF-8");
  }
  references_.push_back(Reference{std::move(uri), std::move(checksum), size});
  return Status::Ok();
}

}  // namespace runtrack
