// ArtifactReceiver: the server's end of artifact shipping (docs/REMOTE.md "Artifacts").
//
// Chunks arrive in parts into "blobs/<hh>/.tmp-<hex>-ingest" (a name ArtifactStore::Gc collects
// after its grace period if an upload is abandoned) and are renamed onto their name only after
// the whole file hashed to that name. A version is published with one rename of a directory that
// already holds its manifest, with RENAME_NOREPLACE, so the version appears whole or not at all,
// and never over a number a local writer of this store has claimed.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "artifacts/alias_table.h"
#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/manifest.h"
#include "artifacts/sha256.h"
#include "artifacts/version_registry.h"
#include "runtrack/artifact_transfer.h"
#include "util/files.h"
#include "util/guard.h"
#include "artifacts/names.h"

namespace runtrack {
namespace fs = std::filesystem;
using namespace artifacts;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

Status CheckDigest(std::string_view digest) {
  if (IsSha256Hex(digest)) return Status::Ok();
  return Status::InvalidArgument(fmt::format("Invalid chunk digest '{}': expected 64 lower-case hex digits",
                                             digest.substr(0, 80)));
}

// The partial upload of one chunk, beside its final name.
fs::path PartPath(const Layout& layout, const std::string& hex) {
  return layout.blob_path(hex).parent_path() / (".tmp-" + hex + "-ingest");
}

uint64_t FileSize(const fs::path& p, bool* exists) {
  struct stat st {};
  *exists = ::stat(p.c_str(), &st) == 0;
  return *exists ? static_cast<uint64_t>(st.st_size) : 0;
}

// SHA-256 of a whole file, streamed.
Result<std::string> HashFile(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", p, errno);
  Sha256 h;
  std::string buf(1u << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status s = util::ErrnoStatus("read", p, errno);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return ToHex(h.Final());
}

Status SyncFile(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", p, errno);
  Status s = ::fdatasync(fd) == 0 ? Status::Ok() : util::ErrnoStatus("fdatasync", p, errno);
  ::close(fd);
  return s;
}

}  // namespace

struct ArtifactReceiver::Impl {
  explicit Impl(StoreLayout l) : layout(l.root()) {}
  Layout layout;
  mutable std::mutex mu;            // guards stats and busy
  std::set<std::string> busy;       // chunks with a part being written now
  std::condition_variable_any idle;
  Stats stats;
  std::mutex publish_mu;            // one manifest publication at a time (they are small)

  // Serialises uploads of one chunk (two runs sharing a chunk may upload it at once).
  struct ChunkGuard {
    Impl* impl;
    std::string hex;
    ChunkGuard(Impl* i, std::string h) : impl(i), hex(std::move(h)) {
      std::unique_lock l(impl->mu);
      impl->idle.wait(l, [&] { return impl->busy.count(hex) == 0; });
      impl->busy.insert(hex);
    }
    ~ChunkGuard() {
      {
        std::lock_guard l(impl->mu);
        impl->busy.erase(hex);
      }
      impl->idle.notify_all();
    }
  };

  Result<ChunkUploadOutcome> Put(const std::string& hex, uint64_t size, uint64_t offset, std::string_view bytes) {
    ChunkGuard guard(this, hex);
    const fs::path final_path = layout.blob_path(hex);
    bool exists = false;
    uint64_t have = FileSize(final_path, &exists);
    if (exists && have == size) return ChunkUploadOutcome{true, false, size};  // idempotent
    const fs::path part = PartPath(layout, hex);
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(part.parent_path()));
    bool part_exists = false;
    uint64_t received = FileSize(part, &part_exists);
    if (offset != 0 && offset != received) return ChunkUploadOutcome{false, true, received};
    int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0644);
    if (fd < 0) return util::ErrnoStatus("create", part, errno);
    Status s = util::PwriteAll(fd, bytes.data(), bytes.size(), offset, part);
    if (::close(fd) != 0 && s.ok()) s = util::ErrnoStatus("close", part, errno);
    if (!s.ok()) {
      ::unlink(part.c_str());
      return s;
    }
    received = offset + bytes.size();
    if (received < size) return ChunkUploadOutcome{false, false, received};
    // Complete: only bytes that hash to the name may ever carry it.
    RUNTRACK_ASSIGN_OR_RETURN(std::string actual, HashFile(part));
    if (actual != hex) {
      ::unlink(part.c_str());
      return Status::InvalidArgument(fmt::format(
          "chunk bytes do not match their digest: sha256 of the {} bytes received is {}, not {}; nothing was stored",
          size, actual, hex));
    }
    s = SyncFile(part);
    if (s.ok() && ::rename(part.c_str(), final_path.c_str()) != 0) s = util::ErrnoStatus("rename", part, errno);
    if (s.ok()) s = util::SyncDir(final_path.parent_path());
    if (!s.ok()) {
      ::unlink(part.c_str());
      return s;
    }
    std::lock_guard l(mu);
    ++stats.chunks_stored;
    stats.chunk_bytes_stored += size;
    return ChunkUploadOutcome{true, false, size};
  }

  // Whether every chunk the manifest references is here with its size; refreshes the mtime of
  // those that are, so a concurrent Gc keeps them through its grace period (as Log does).
  std::vector<std::string> Missing(const Manifest& m) {
    std::vector<std::string> missing;
    std::set<std::string> seen;
    for (const auto& f : m.files)
      for (const auto& c : f.chunks) {
        if (!seen.insert(c.sha256).second) continue;
        fs::path p = layout.blob_path(c.sha256);
        bool exists = false;
        if (FileSize(p, &exists) != c.size || !exists || ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0) != 0)
          missing.push_back(c.sha256);
      }
    return missing;
  }

  Result<ManifestOutcome> Publish(std::string_view name, int version, std::string_view text,
                                  std::string_view used_by) {
    RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
    if (version < 1) return Status::InvalidArgument(fmt::format("Invalid artifact version {}", version));
    if (!used_by.empty()) RUNTRACK_RETURN_IF_ERROR(ValidateRunId(used_by));
    auto parsed = ParseManifest(text);
    if (!parsed.ok()) return Status::InvalidArgument("Invalid manifest: " + parsed.status().message());
    Manifest& m = *parsed;
    if (m.name != name || m.version != version)
      return Status::InvalidArgument(fmt::format("manifest describes {}:v{}, but was sent as {}:v{}", m.name,
                                                 m.version, name, version));
    if (!m.created_by_run.empty()) RUNTRACK_RETURN_IF_ERROR(ValidateRunId(m.created_by_run));
    const std::string n(name);
    std::error_code ec;
    for (ArtifactType t : kAllTypes)
      if (t != m.type && fs::is_directory(layout.name_dir(t, n), ec))
        return Status::AlreadyExists(fmt::format("artifact name '{}' is already used by type {} on the server", n,
                                                 ArtifactTypeName(t)));
    ManifestOutcome out;
    out.type = m.type;
    std::lock_guard publishing(publish_mu);
    out.missing_chunks = Missing(m);
    if (!out.missing_chunks.empty()) return out;

    const fs::path name_dir = layout.name_dir(m.type, n);
    const fs::path dir = layout.version_dir(m.type, n, version);
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(name_dir));
    RUNTRACK_ASSIGN_OR_RETURN(bool exists, Existing(dir, n, version, text));
    if (!exists) {
      if (!m.created_by_run.empty())
        RUNTRACK_RETURN_IF_ERROR(RecordProduced(layout, m.created_by_run, m.type, n, version));
      RUNTRACK_ASSIGN_OR_RETURN(out.created, Place(name_dir, dir, text));
      // Lost the number to a writer of this store in between: the same bytes are fine, others not.
      if (!out.created) RUNTRACK_RETURN_IF_ERROR(Existing(dir, n, version, text).status());
      if (out.created) {
        std::lock_guard l(mu);
        ++stats.versions_created;
      }
    }
    if (!used_by.empty()) RUNTRACK_RETURN_IF_ERROR(RecordUse(layout, std::string(used_by), m.type, n, version));
    return out;
  }

  // true: `dir` holds exactly `text` already. Absent: false. Anything else is a conflict.
  Result<bool> Existing(const fs::path& dir, const std::string& name, int version, std::string_view text) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return false;
    switch (StateOf(dir)) {
      case VersionState::kPurged:
        return Status::FailedPrecondition(
            fmt::format("{}:v{} was permanently deleted on the server; its number is not reused", name, version));
      case VersionState::kPending:
        return Status::FailedPrecondition(fmt::format(
            "{}:v{} is being published by a writer on the server itself (or one crashed there)", name, version));
      default: break;
    }
    RUNTRACK_ASSIGN_OR_RETURN(std::string stored, util::ReadFile(dir / Layout::kManifest));
    if (stored == text) return true;
    return Status::FailedPrecondition(
        fmt::format("{}:v{} already exists on the server with a different manifest", name, version));
  }

  // Writes the manifest into a fresh directory and renames that onto `dir` unless `dir` exists.
  // false: `dir` existed (nothing placed).
  Result<bool> Place(const fs::path& name_dir, const fs::path& dir, std::string_view text) {
    const fs::path staging = name_dir / util::UniqueTmpName("ingest");
    if (::mkdir(staging.c_str(), 0755) != 0) return util::ErrnoStatus("mkdir", staging, errno);
    auto cleanup = [&] {
      std::error_code ec;
      fs::remove_all(staging, ec);
    };
    Status s = util::WriteFileAtomic(staging / Layout::kManifest, text, /*sync=*/true);
    if (!s.ok()) {
      cleanup();
      return s;
    }
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
      const int err = errno;
      if (err != EINVAL && err != ENOSYS) {
        cleanup();
        if (err == EEXIST || err == ENOTEMPTY) return false;
        return util::ErrnoStatus("rename", staging, err);
      }
      // A file system without RENAME_NOREPLACE: claim the number as Log does, then publish into it.
      cleanup();
      if (::mkdir(dir.c_str(), 0755) != 0) {
        if (errno == EEXIST) return false;
        return util::ErrnoStatus("mkdir", dir, errno);
      }
      RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(dir / Layout::kManifest, text, /*sync=*/true));
      return true;
    }
    RUNTRACK_RETURN_IF_ERROR(util::SyncDir(name_dir));
    return true;
  }
};

namespace {

// The type folder that holds `name` here; NotFound when none does.
Result<ArtifactType> TypeOf(const Layout& layout, const std::string& name) {
  std::error_code ec;
  for (ArtifactType t : kAllTypes)
    if (fs::is_directory(layout.name_dir(t, name), ec)) return t;
  return Status::NotFound(fmt::format("artifact '{}' is not on the server", name));
}

Status CheckAliasRequest(std::string_view name, std::string_view alias, int version) {
  RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
  RUNTRACK_RETURN_IF_ERROR(ValidateAliasName(alias));
  if (version < 1) return Status::InvalidArgument(fmt::format("Invalid artifact version {}", version));
  return Status::Ok();
}

}  // namespace

Result<bool> ArtifactReceiver::SetAlias(std::string_view name, std::string_view alias, int version) {
  return util::GuardStatus("receive artifact alias", [&]() -> Result<bool> {
    RUNTRACK_RETURN_IF_ERROR(CheckAliasRequest(name, alias, version));
    const std::string n(name), a(alias);
    const Layout& layout = impl_->layout;
    // Serialised with publications and other writers' alias changes on this server.
    std::lock_guard publishing(impl_->publish_mu);
    RUNTRACK_ASSIGN_OR_RETURN(ArtifactType type, TypeOf(layout, n));
    const fs::path dir = layout.version_dir(type, n, version);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      return Status::NotFound(fmt::format("{}:v{} is not on the server", n, version));
    switch (StateOf(dir)) {
      case VersionState::kReady: break;
      case VersionState::kDeleted:
        return Status::FailedPrecondition(fmt::format("{}:v{} is deleted on the server", n, version));
      default:
        return Status::FailedPrecondition(fmt::format("{}:v{} is not a ready version on the server", n, version));
    }
    RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(layout.aliases_dir(type, n)));
    if (auto it = aliases.find(a); it != aliases.end() && it->second == version) return false;
    RUNTRACK_RETURN_IF_ERROR(WriteAlias(layout.aliases_dir(type, n), a, version, /*sync=*/true));
    return true;
  });
}

Result<bool> ArtifactReceiver::RemoveAlias(std::string_view name, std::string_view alias, int version) {
  return util::GuardStatus("remove artifact alias", [&]() -> Result<bool> {
    RUNTRACK_RETURN_IF_ERROR(CheckAliasRequest(name, alias, version));
    const std::string n(name), a(alias);
    const Layout& layout = impl_->layout;
    std::lock_guard publishing(impl_->publish_mu);
    auto type = TypeOf(layout, n);
    if (!type.ok()) return false;  // nothing of that name here: nothing to remove
    RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(layout.aliases_dir(*type, n)));
    if (auto it = aliases.find(a); it == aliases.end() || it->second != version) return false;
    Status s = RemoveAliasFile(layout.aliases_dir(*type, n), a);
    if (s.code() == StatusCode::kNotFound) return false;
    RUNTRACK_RETURN_IF_ERROR(s);
    RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.aliases_dir(*type, n)));
    return true;
  });
}

ArtifactReceiver::ArtifactReceiver(StoreLayout layout) : impl_(std::make_unique<Impl>(std::move(layout))) {}
ArtifactReceiver::~ArtifactReceiver() = default;

Result<std::vector<std::string>> ArtifactReceiver::MissingChunks(const std::vector<std::string>& digests) {
  return util::GuardStatus("find missing chunks", [&]() -> Result<std::vector<std::string>> {
    if (digests.size() > kMaxMissingQueryDigests)
      return Status::InvalidArgument(fmt::format("too many digests: {} (at most {} per request)", digests.size(),
                                                 kMaxMissingQueryDigests));
    for (const auto& d : digests) RUNTRACK_RETURN_IF_ERROR(CheckDigest(d));
    std::vector<std::string> missing;
    std::set<std::string_view> seen;
    for (const auto& d : digests) {
      if (!seen.insert(d).second) continue;
      bool exists = false;
      FileSize(impl_->layout.blob_path(d), &exists);
      if (!exists) missing.push_back(d);
    }
    std::lock_guard l(impl_->mu);
    ++impl_->stats.missing_queries;
    impl_->stats.digests_asked += digests.size();
    impl_->stats.digests_missing += missing.size();
    return missing;
  });
}

Result<ChunkUploadOutcome> ArtifactReceiver::PutChunk(std::string_view digest, uint64_t size, uint64_t offset,
                                                      std::string_view bytes) {
  return util::GuardStatus("receive chunk", [&]() -> Result<ChunkUploadOutcome> {
    RUNTRACK_RETURN_IF_ERROR(CheckDigest(digest));
    if (size == 0 || size > kMaxShippedChunkBytes)
      return Status::InvalidArgument(
          fmt::format("Invalid chunk size {}: expected 1 to {} bytes", size, kMaxShippedChunkBytes));
    if (offset > size || bytes.size() > size - offset)
      return Status::InvalidArgument(fmt::format("part [{}, {}) is past the chunk's size {}", offset,
                                                 offset + bytes.size(), size));
    {
      std::lock_guard l(impl_->mu);
      ++impl_->stats.chunk_puts;
    }
    return impl_->Put(std::string(digest), size, offset, bytes);
  });
}

Result<ManifestOutcome> ArtifactReceiver::PutManifest(std::string_view name, int version, std::string_view text,
                                                      std::string_view used_by) {
  return util::GuardStatus("receive artifact manifest",
                           [&]() -> Result<ManifestOutcome> { return impl_->Publish(name, version, text, used_by); });
}

ArtifactReceiver::Stats ArtifactReceiver::stats() const {
  std::lock_guard l(impl_->mu);
  return impl_->stats;
}

}  // namespace runtrack
