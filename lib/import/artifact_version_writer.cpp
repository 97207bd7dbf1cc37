#include "import/artifact_version_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "artifacts/chunk_ingest.h"
#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/manifest.h"
#include "artifacts/sha256.h"
#include "util/files.h"
#include "artifacts/names.h"

namespace runtrack::importer {
namespace fs = std::filesystem;
using namespace artifacts;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

Status DigestMismatch(const std::string& path, const std::string& expected, const std::string& actual) {
  return Status::Corruption("file '" + path + "' does not match its digest " + expected + " (it is " + actual + ")");
}

Result<std::string> FileDigest(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return util::ErrnoStatus("open", path);
  Sha256 hash;
  std::string block(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = util::ErrnoStatus("read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    hash.Update(block.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return "sha256:" + ToHex(hash.Final());
}

}  // namespace

Status CheckArtifactDigests(const Artifact& artifact, const ImportedVersionSpec& spec) {
  for (const auto& source : artifact.files()) {
    auto expected = spec.expected_digests.find(source.path);
    if (expected == spec.expected_digests.end()) continue;
    RUNTRACK_ASSIGN_OR_RETURN(std::string actual, FileDigest(source.source));
    if (actual != expected->second) return DigestMismatch(source.path, expected->second, actual);
  }
  return Status::Ok();
}

Status WriteArtifactVersion(const ArtifactStore& store, const Artifact& artifact, const ImportedVersionSpec& spec) {
  const std::string& name = artifact.name();
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
  if (!spec.created_by_run.empty()) RUNTRACK_RETURN_IF_ERROR(ValidateRunId(spec.created_by_run));
  if (spec.version < 1) return Status::InvalidArgument("artifact version must be >= 1");
  if (artifact.files().empty() && artifact.references().empty())
    return Status::FailedPrecondition("artifact '" + name + "' has no files and no references");
  Layout layout(store.root());
  std::error_code ec;
  for (ArtifactType t : kAllTypes) {
    if (t != artifact.type() && fs::is_directory(layout.name_dir(t, name), ec))
      return Status::AlreadyExists("artifact name '" + name + "' is already used by type " +
                                   std::string(ArtifactTypeName(t)));
  }
  fs::path version_dir = layout.version_dir(artifact.type(), name, spec.version);
  if (fs::exists(version_dir, ec))
    return Status::AlreadyExists(name + ":v" + std::to_string(spec.version) + " already exists");

  Manifest m;
  m.name = name;
  m.type = artifact.type();
  m.version = spec.version;
  m.description = artifact.description();
  m.metadata = artifact.metadata();
  m.tags = artifact.tags();
  m.created_by_run = spec.created_by_run;
  m.created_at = spec.created_at;
  m.chunking = *store.options().chunking;
  for (const auto& r : artifact.references()) m.references.push_back({r.uri, r.checksum, r.size});

  FastCdc cdc(m.chunking);
  ChunkStore chunks(layout, store.options().sync);
  std::set<fs::path> dirty_dirs;
  for (const auto& source : artifact.files()) {
    FileRecord record;
    record.path = source.path;
    RUNTRACK_RETURN_IF_ERROR(IngestFile(source.source, cdc, chunks, &record, &dirty_dirs, nullptr));
    auto expected = spec.expected_digests.find(source.path);
    if (expected != spec.expected_digests.end() && expected->second != record.digest)
      return DigestMismatch(source.path, expected->second, record.digest);
    m.size_bytes += record.size;
    m.files.push_back(std::move(record));
  }
  RUNTRACK_RETURN_IF_ERROR(chunks.SyncDirs(dirty_dirs));

  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.name_dir(m.type, name)));
  if (::mkdir(version_dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists(name + ":v" + std::to_string(spec.version) + " already exists");
    return util::ErrnoStatus("create version directory", version_dir);
  }
  if (!m.created_by_run.empty())
    RUNTRACK_RETURN_IF_ERROR(RecordProduced(layout, m.created_by_run, m.type, name, m.version));
  if (spec.soft_deleted) RUNTRACK_RETURN_IF_ERROR(util::TouchFile(version_dir / Layout::kDeletedMarker));
  std::string text = SerializeManifest(&m);
  return util::WriteFileAtomic(version_dir / Layout::kManifest, text, store.options().sync);
}

Status WritePurgedTombstone(const ArtifactStore& store, ArtifactType type, const std::string& name, int version) {
  Layout layout(store.root());
  fs::path dir = layout.version_dir(type, name, version);
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.name_dir(type, name)));
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return util::ErrnoStatus("create version directory", dir);
  }
  return util::WriteFileAtomic(dir / Layout::kPurgedTombstone,
                               "purged_at " + std::to_string(util::NowSeconds()) + "\n", store.options().sync);
}

}  // namespace runtrack::importer
