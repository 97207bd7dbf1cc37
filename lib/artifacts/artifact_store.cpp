// ArtifactStore: opening, Log (write path), Use (resolve + record lineage), aliases, delete and
// restore. Listings, lineage walks, GC and stats live in their own files.
//
// Every public method catches exceptions at this edge (std::filesystem and boost::json can throw
// on allocation failure) and reports them as Status::Internal.
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "artifacts/abandoned_writers.h"
#include "artifacts/alias_table.h"
#include "artifacts/chunk_ingest.h"
#include "util/files.h"
#include "artifacts/handle_impl.h"
#include "artifacts/lineage_index.h"
#include "artifacts/names.h"
#include "artifacts/store_chunking.h"
#include "artifacts/store_reader.h"
#include "artifacts/version_registry.h"
#include "artifacts/writer_claim.h"
#include "util/guard.h"

namespace runtrack {
namespace fs = std::filesystem;
using namespace artifacts;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

std::string Spec(const std::string& name, int version) { return name + ":v" + std::to_string(version); }

Status CheckRunId(std::string_view run_id) {
  return run_id.empty() ? Status::Ok() : ValidateRunId(run_id);
}

}  // namespace

Result<ArtifactStore> ArtifactStore::Open(const fs::path& root, ArtifactStoreOptions options) {
  return util::GuardStatus("open artifact store", [&]() -> Result<ArtifactStore> {
    if (options.chunking) RUNTRACK_RETURN_IF_ERROR(FastCdc::Validate(*options.chunking));
    if (root.empty()) return Status::InvalidArgument("store root is empty");
    Layout layout(root);
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.artifacts_dir()));
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.blobs_dir()));
    RUNTRACK_ASSIGN_OR_RETURN(options.chunking, ResolveStoreChunking(layout, options.chunking, options.sync));
    return ArtifactStore(root, options);
  });
}

Result<int> ArtifactStore::Log(const Artifact& artifact, std::string_view producing_run_id) {
  return util::GuardStatus("log artifact", [&]() -> Result<int> {
    const std::string& name = artifact.name();
    RUNTRACK_RETURN_IF_ERROR(ValidateArtifactName(name));
    RUNTRACK_RETURN_IF_ERROR(CheckRunId(producing_run_id));
    if (artifact.files().empty() && artifact.references().empty()) {
      return Status::FailedPrecondition("artifact '" + name +
                                        "' has no files and no references; add at least one before logging it");
    }
    Layout layout(root_);
    std::error_code ec;
    for (ArtifactType t : kAllTypes) {
      if (t != artifact.type() && fs::is_directory(layout.name_dir(t, name), ec)) {
        return Status::AlreadyExists("artifact name '" + name + "' is already used by type " +
                                     std::string(ArtifactTypeName(t)));
      }
    }

    Manifest m;
    m.name = name;
    m.type = artifact.type();
    m.description = artifact.description();
    m.metadata = artifact.metadata();
    m.tags = artifact.tags();
    m.created_by_run = std::string(producing_run_id);
    m.chunking = *options_.chunking;
    for (const auto& r : artifact.references()) m.references.push_back({r.uri, r.checksum, r.size});

    // 0. What killed or failed Log() calls left behind goes now, not after Gc()'s grace period.
    //    Best effort: a failure here must not stop this Log().
    (void)ReclaimAbandonedWriters(layout, nullptr);
    // 1. Chunks first: until the manifest exists nobody can see them, and the claim keeps them safe
    //    from collectors while this writer lives; if it dies, the next Log() or Gc() removes them.
    RUNTRACK_ASSIGN_OR_RETURN(WriterClaim claim, WriterClaim::Create(layout));
    FastCdc cdc(*options_.chunking);
    ChunkStore chunks(layout, options_.sync, &claim);
    std::set<fs::path> dirty_dirs;
    for (const auto& source : artifact.files()) {
      FileRecord record;
      record.path = source.path;
      RUNTRACK_RETURN_IF_ERROR(IngestFile(source.source, cdc, chunks, &record, &dirty_dirs, nullptr));
      m.size_bytes += record.size;
      m.files.push_back(std::move(record));
    }
    RUNTRACK_RETURN_IF_ERROR(chunks.SyncDirs(dirty_dirs));

    // 2. Claim the number as late as possible, so versions number in order of completion and a
    //    crash while chunking burns no number.
    RUNTRACK_ASSIGN_OR_RETURN(m.version, ClaimVersion(layout.name_dir(m.type, name)));
    m.created_at = util::NowSeconds();
    if (!producing_run_id.empty()) {
      RUNTRACK_RETURN_IF_ERROR(RecordProduced(layout, m.created_by_run, m.type, name, m.version));
    }
    // 3. Publish: the rename of manifest.json is the moment the version exists.
    std::string text = SerializeManifest(&m);
    RUNTRACK_RETURN_IF_ERROR(
        util::WriteFileAtomic(layout.version_dir(m.type, name, m.version) / Layout::kManifest, text, options_.sync));
    claim.Retire();
    return m.version;
  });
}

Result<ArtifactHandle> ArtifactStore::Use(std::string_view spec, std::string_view using_run_id) {
  return util::GuardStatus("use artifact", [&]() -> Result<ArtifactHandle> {
    RUNTRACK_RETURN_IF_ERROR(CheckRunId(using_run_id));
    size_t colon = spec.find(':');
    std::string_view name_part = spec.substr(0, colon);
    std::string_view selector = colon == std::string_view::npos ? "latest" : spec.substr(colon + 1);
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name_part));
    RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
    RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(layout.aliases_dir(ref.type, ref.name)));
    const int latest = LatestReady(entries);

    int version = 0;
    if (selector == "latest") {
      if (latest == 0) {
        return Status::NotFound("artifact '" + ref.name + "' has no ready version; existing versions: " +
                                DescribeVersions(entries));
      }
      version = latest;
    } else if (ParseVersionToken(selector, &version)) {
      // checked below
    } else {
      Status valid = ValidateAliasName(selector);
      auto it = aliases.find(std::string(selector));
      if (!valid.ok() || it == aliases.end()) {
        std::string list = latest ? "latest -> v" + std::to_string(latest) : "";
        for (const auto& [alias, v] : aliases) list += (list.empty() ? "" : ", ") + alias + " -> v" + std::to_string(v);
        return Status::NotFound("alias or version '" + std::string(selector) + "' of '" + ref.name +
                                "' not found; existing aliases: " + (list.empty() ? "none" : list) +
                                "; existing versions: " + DescribeVersions(entries));
      }
      version = it->second;
    }
    VersionState state = VersionState::kPending;
    for (const auto& e : entries) {
      if (e.version == version) state = e.state;
    }
    if (state == VersionState::kDeleted) {
      return Status::FailedPrecondition(Spec(ref.name, version) + " is deleted; restore it before using it");
    }
    if (state != VersionState::kReady) return VersionNotFound(ref, version, entries);

    RUNTRACK_ASSIGN_OR_RETURN(Manifest m, LoadManifest(layout, ref, version));
    if (!using_run_id.empty()) {
      RUNTRACK_RETURN_IF_ERROR(RecordUse(layout, std::string(using_run_id), ref.type, ref.name, version));
    }
    auto impl = std::make_shared<ArtifactHandle::Impl>(ArtifactHandle::Impl{layout, std::move(m), {}, {}});
    impl->info = MakeVersionInfo(impl->manifest, state, AliasesByVersion(aliases, latest)[version]);
    for (const auto& f : impl->manifest.files) impl->files.push_back(MakeFileInfo(f));
    return ArtifactHandle(std::move(impl));
  });
}

Status ArtifactStore::SetAlias(std::string_view name, std::string_view alias, int version) {
  return util::GuardStatus("set alias", [&]() -> Status {
    RUNTRACK_RETURN_IF_ERROR(ValidateAliasName(alias));
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
    for (const auto& e : entries) {
      if (e.version != version) continue;
      if (e.state == VersionState::kDeleted) {
        return Status::FailedPrecondition(Spec(ref.name, version) + " is deleted; restore it before aliasing it");
      }
      if (e.state == VersionState::kReady) {
        return WriteAlias(layout.aliases_dir(ref.type, ref.name), std::string(alias), version, options_.sync);
      }
    }
    return VersionNotFound(ref, version, entries);
  });
}

Status ArtifactStore::RemoveAlias(std::string_view name, std::string_view alias) {
  return util::GuardStatus("remove alias", [&]() -> Status {
    RUNTRACK_RETURN_IF_ERROR(ValidateAliasName(alias));
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    Status s = RemoveAliasFile(layout.aliases_dir(ref.type, ref.name), std::string(alias));
    if (s.code() == StatusCode::kNotFound) {
      return Status::NotFound("alias '" + std::string(alias) + "' of '" + ref.name + "' does not exist");
    }
    return s;
  });
}

Result<std::map<std::string, int>> ArtifactStore::Aliases(std::string_view name) {
  return util::GuardStatus("list aliases", [&]() -> Result<std::map<std::string, int>> {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
    RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(layout.aliases_dir(ref.type, ref.name)));
    if (int latest = LatestReady(entries)) aliases["latest"] = latest;
    return aliases;
  });
}

Status ArtifactStore::Delete(std::string_view name, int version, DeleteMode mode) {
  return util::GuardStatus("delete artifact version", [&]() -> Status {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
    VersionState state = VersionState::kPending;
    for (const auto& e : entries) {
      if (e.version == version) state = e.state;
    }
    if (state != VersionState::kReady && state != VersionState::kDeleted) return VersionNotFound(ref, version, entries);
    fs::path dir = layout.version_dir(ref.type, ref.name, version);
    if (mode == DeleteMode::kSoft) {
      if (state == VersionState::kDeleted) {
        return Status::FailedPrecondition(Spec(ref.name, version) + " is already deleted");
      }
      RUNTRACK_RETURN_IF_ERROR(util::TouchFile(dir / Layout::kDeletedMarker));
      return options_.sync ? util::SyncDir(dir) : Status::Ok();
    }
    // Tombstone first: from here on every reader treats the version as gone, even if we crash
    // before the manifest is removed (Gc() finishes the job).
    RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(dir / Layout::kPurgedTombstone,
                                             "purged_at " + std::to_string(util::NowSeconds()) + "\n", options_.sync));
    for (const char* leftover : {Layout::kManifest, Layout::kDeletedMarker}) {
      fs::path p = dir / leftover;
      if (::unlink(p.c_str()) != 0 && errno != ENOENT) return util::ErrnoStatus("unlink", p, errno);
    }
    // User aliases may not dangle; "latest" is computed and moves by itself.
    fs::path aliases_dir = layout.aliases_dir(ref.type, ref.name);
    RUNTRACK_ASSIGN_OR_RETURN(auto aliases, ReadAliases(aliases_dir));
    for (const auto& [alias, v] : aliases) {
      if (v != version) continue;
      Status s = RemoveAliasFile(aliases_dir, alias);
      if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
    }
    return Status::Ok();
  });
}

Status ArtifactStore::Restore(std::string_view name, int version) {
  return util::GuardStatus("restore artifact version", [&]() -> Status {
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    fs::path dir = layout.version_dir(ref.type, ref.name, version);
    VersionState state = fs::is_directory(dir) ? StateOf(dir) : VersionState::kPending;
    if (state == VersionState::kReady) {
      return Status::FailedPrecondition(Spec(ref.name, version) + " is not deleted");
    }
    if (state != VersionState::kDeleted) {
      RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
      if (state == VersionState::kPurged) {
        return Status::NotFound(Spec(ref.name, version) + " was permanently deleted and cannot be restored");
      }
      return VersionNotFound(ref, version, entries);
    }
    fs::path marker = dir / Layout::kDeletedMarker;
    if (::unlink(marker.c_str()) != 0 && errno != ENOENT) return util::ErrnoStatus("unlink", marker, errno);
    return options_.sync ? util::SyncDir(dir) : Status::Ok();
  });
}

}  // namespace runtrack
