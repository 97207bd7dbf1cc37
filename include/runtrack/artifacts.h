// Artifacts: versioned models, datasets and other files with content-defined-chunk dedup,
// aliases, soft/permanent delete, garbage collection, lineage and storage statistics.
//
// Storage model (details and the manifest format: docs/FORMATS-artifacts.md)
// ---------------------------------------------------------------------------
// Artifacts are kept entirely in plain files under the store root, never in the RocksDB catalog:
// RocksDB admits one read-write process per database, but artifact writers are training
// processes, and a sweep runs many of them at once against one root. Every mutation is therefore
// a single atomic file-system operation that needs no lock between processes:
//
//   <root>/blobs/<hh>/<sha256>                    chunk bytes; written tmp + rename, idempotent
//   <root>/artifacts/<type>/<name>/v<N>/          version N, claimed by mkdir (one winner)
//       manifest.json                             published last (tmp + rename): the version
//                                                 exists for readers exactly when this file does
//       deleted                                   soft-delete marker (restore removes it)
//       purged                                    tombstone after permanent delete; the v<N>
//                                                 directory stays so N is never claimed again
//       uses/<run_id>                             "run used this version" (lineage, downstream)
//   <root>/artifacts/<type>/<name>/aliases/<alias>  decimal version number; replaced atomically
//   <root>/artifacts/.lineage/runs/<run_id>/{produced,used}/<type>:<name>:v<N>
//                                                 per-run index (lineage, run -> artifacts)
//
// Files are cut into chunks with FastCDC (content-defined, so an insertion shifts only nearby
// boundaries), each chunk is named by its SHA-256 and stored once. A version's manifest lists its
// files as chunk lists plus the whole-file digest, so shared tensors between checkpoints are
// stored once. The catalog owner may index these files (e.g. for the HTTP server); the files stay
// the source of truth.
//
// Thread safety and processes
// ---------------------------
// ArtifactStore keeps no mutable state in memory: all of its methods may be called concurrently
// from any number of threads and processes sharing one root. Log() calls never collide on a
// version number. Gc() may run while writers publish: chunks younger than the grace period are
// kept, and Log() refreshes the modification time of every chunk it reuses. A GC that races a
// writer which reuses a chunk older than the grace period within the same instant is the one
// residual window; choose a grace period well above the longest Log() (default one hour).
// Artifact is a plain builder: use one object from one thread at a time. ArtifactHandle is
// immutable; its const methods may be called from any thread.
//
// No method throws; failures come back as Status / Result<T>.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/chunk_source.h"
#include "runtrack/status.h"
#include "runtrack/validation.h"  // ValidateRunId

namespace runtrack {

enum class ArtifactType { kModel, kDataset, kConfig, kCode, kCustom };

// "model", "dataset", "config", "code", "custom".
std::string_view ArtifactTypeName(ArtifactType type);
// Inverse of ArtifactTypeName; InvalidArgument listing the valid names otherwise.
Result<ArtifactType> ParseArtifactType(std::string_view name);

// Artifact names and aliases: 1..128 bytes of UTF-8 without control characters, without
// / \ : * ? " < > |, not "." and not containing "..". Aliases additionally may not be "latest"
// (maintained automatically) or look like a version ("v12").
Status ValidateArtifactName(std::string_view name);
Status ValidateAliasName(std::string_view alias);
// A path inside an artifact: relative, '/'-separated, UTF-8, no empty, "." or ".." component,
// no backslash or control character. It can never name anything outside the download folder.
Status ValidateArtifactPath(std::string_view path);

// What will be logged as one version. Adding files only records their paths; bytes are read by
// ArtifactStore::Log. Not thread-safe; copyable.
class Artifact {
 public:
  // InvalidArgument if `name` fails ValidateArtifactName.
  static Result<Artifact> Create(std::string name, ArtifactType type);

  void SetDescription(std::string description) { description_ = std::move(description); }
  // Merges keys into the metadata (later values win).
  void AddMetadata(const boost::json::object& metadata);
  // Tags: 1..128 bytes, UTF-8, no control characters; duplicates are ignored.
  Status AddTag(std::string tag);

  // Adds one regular file as `name` (default: the file's base name). Errors: the file is missing
  // (NotFound), is a directory or not a regular file (InvalidArgument), `path` contains a ".."
  // component or `name` fails ValidateArtifactPath (InvalidArgument), the name is already taken
  // or clashes with a directory of the artifact (AlreadyExists).
  Status AddFile(const std::filesystem::path& path, std::optional<std::string> name = std::nullopt);
  // Adds every regular file below `dir`, at its relative path under `name` (default: the artifact
  // root). A file is skipped when any exclude glob (fnmatch syntax) matches its relative path or
  // its base name. Symlinked directories are not followed. Same errors as AddFile.
  Status AddDir(const std::filesystem::path& dir, std::optional<std::string> name = std::nullopt,
                const std::vector<std::string>& exclude_globs = {});
  // Records an external object (s3://..., https://...) that is not copied into the store.
  Status AddReference(std::string uri, std::optional<std::string> checksum = std::nullopt,
                      std::optional<uint64_t> size = std::nullopt);

  struct FileSource {
    std::string path;                 // inside the artifact
    std::filesystem::path source;     // on the local disk
  };
  struct Reference {
    std::string uri;
    std::optional<std::string> checksum;
    std::optional<uint64_t> size;
  };

  const std::string& name() const { return name_; }
  ArtifactType type() const { return type_; }
  const std::string& description() const { return description_; }
  const boost::json::object& metadata() const { return metadata_; }
  const std::vector<std::string>& tags() const { return tags_; }
  const std::vector<FileSource>& files() const { return files_; }
  const std::vector<Reference>& references() const { return references_; }

 private:
  Artifact(std::string name, ArtifactType type) : name_(std::move(name)), type_(type) {}
  Status AddOne(std::string artifact_path, std::filesystem::path source);

  std::string name_;
  ArtifactType type_;
  std::string description_;
  boost::json::object metadata_;
  std::vector<std::string> tags_;
  std::vector<FileSource> files_;
  std::vector<Reference> references_;
  std::set<std::string> file_paths_;  // for the duplicate / file-versus-directory checks
  std::set<std::string> dir_paths_;
};

// FastCDC parameters. Stored in every manifest and fixed per store when it is created (see
// ArtifactStoreOptions::chunking): other parameters would not break old versions, but new chunks
// would stop matching old ones. The defaults are smaller than DESIGN.md's restic-like
// 512 KiB / 1 MiB / 8 MiB because measurement showed those waste space on checkpoints: every
// changed tensor drags about one average chunk of unchanged bytes with it, so 1 MiB chunks store
// ~1.5x the unique bytes of 10 checkpoints with 20% changed tensors, 256 KiB chunks ~1.17x, at
// a modest throughput cost (docs/PERFORMANCE-artifacts.md).
struct ChunkingOptions {
  uint32_t min_size = 64 * 1024;
  uint32_t avg_size = 256 * 1024;  // rounded to a power of two for the masks
  uint32_t max_size = 2 * 1024 * 1024;

  bool operator==(const ChunkingOptions&) const = default;
};

struct ArtifactStoreOptions {
  // A store keeps the chunking it was created with (recorded in <root>/artifacts/chunking.json),
  // so new versions keep sharing chunks with old ones even if the defaults change. Unset: the
  // recorded chunking, or the defaults for a new store. Set: used for a new store; for an
  // existing one it must equal the recorded chunking (FailedPrecondition otherwise).
  std::optional<ChunkingOptions> chunking;
  // fdatasync every new chunk and the manifest before publishing, so a published version survives
  // a power loss. Turning it off only risks versions published just before a machine crash.
  bool sync = true;
};

// One file of a version, as listed (Runicorn's files endpoint).
struct ArtifactFileInfo {
  std::string path;
  uint64_t size = 0;
  std::string digest;     // "sha256:<64 hex>" of the whole file
  uint64_t num_chunks = 0;
};

struct ArtifactReferenceInfo {
  std::string uri;
  std::optional<std::string> checksum;
  std::optional<uint64_t> size;
};

// One version (Runicorn's version detail). status is "ready", "deleted" (soft-deleted, restorable)
// or "corrupted" (the manifest cannot be read or fails its digest; then only name, type, version
// and status are filled).
struct ArtifactVersionInfo {
  std::string name;
  ArtifactType type = ArtifactType::kCustom;
  int version = 0;
  double created_at = 0;        // seconds since the Unix epoch
  std::string created_by_run;
  uint64_t size_bytes = 0;      // sum of file sizes (references excluded)
  uint64_t num_files = 0;
  uint64_t num_references = 0;
  std::string status;
  boost::json::object metadata;
  std::string description;
  std::vector<std::string> tags;
  std::vector<std::string> aliases;  // sorted; includes "latest" on the newest ready version
  std::string manifest_digest;       // "sha256:<hex>"
};

// One name (Runicorn's artifact list entry). Counts only ready versions.
struct ArtifactSummary {
  std::string name;
  ArtifactType type = ArtifactType::kCustom;
  int num_versions = 0;
  int latest_version = 0;
  uint64_t size_bytes = 0;      // of the latest version
  double created_at = 0;        // first ready version
  double updated_at = 0;        // latest ready version
  std::map<std::string, int> aliases;  // alias -> version, "latest" included
};

struct ArtifactFileList {
  std::string artifact;  // "name:vN"
  std::vector<ArtifactFileInfo> files;
  std::vector<ArtifactReferenceInfo> references;
  uint64_t total_size = 0;
};

// Lineage graph (Runicorn's lineage endpoint). node_id is "name:vN" for artifact versions and the
// run id for runs. Edges: "uses" artifact -> run, "produces" run -> artifact.
struct LineageNode {
  std::string node_type;      // "artifact" or "run"
  std::string node_id;
  std::string label;          // "name vN" or the run id
  std::string artifact_type;  // artifacts only
  uint64_t size_bytes = 0;    // artifacts only
  std::string status;         // artifacts only: "ready" or "deleted"
  int depth = 0;              // hops from the root
  std::string direction;      // "root", "upstream" or "downstream"
};
struct LineageEdge {
  std::string source;
  std::string target;
  std::string edge_type;      // "uses" or "produces"
};
struct LineageGraph {
  std::string root_artifact;  // "name:vN"
  std::vector<LineageNode> nodes;  // breadth-first order: root, then by depth
  std::vector<LineageEdge> edges;  // sorted, no duplicates
};

struct ArtifactTypeStats {
  uint64_t count = 0;       // names with at least one retained version
  uint64_t versions = 0;
  uint64_t size_bytes = 0;  // logical
};

// Storage statistics over retained versions (ready and soft-deleted: both keep their chunks).
struct ArtifactStats {
  uint64_t total_artifacts = 0;
  uint64_t total_versions = 0;
  uint64_t deleted_versions = 0;     // soft-deleted among total_versions
  uint64_t total_files = 0;
  uint64_t total_size_bytes = 0;     // logical: sum of file sizes of every retained version
  uint64_t stored_bytes = 0;         // distinct chunks those versions reference (Runicorn's
                                     // dedup_pool_size_bytes)
  uint64_t space_saved_bytes = 0;    // total_size_bytes - stored_bytes
  double dedup_ratio = 0;            // space_saved_bytes / total_size_bytes, 0 when empty
  uint64_t blob_pool_bytes = 0;      // everything under blobs/, garbage included
  std::map<std::string, ArtifactTypeStats> by_type;  // keyed by type name
};

// Progress of a long operation: `done` of `total` units (bytes for Download, fan-out directories
// blobs/00..ff for Gc). Called on the calling thread at the start (done = 0), at the end
// (done = total; one call in all when total is 0) and at most every few MiB or one directory in
// between, with `done` strictly growing, so a callback may redraw a progress bar every time.
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;

struct GcReport {
  uint64_t bytes_freed = 0;
  uint64_t chunks_removed = 0;
  uint64_t chunks_kept = 0;           // referenced by a retained version
  uint64_t chunks_in_grace = 0;       // unreferenced but younger than the grace period
};

// One file of a version, streamed in file order: each chunk is read and verified against its
// SHA-256 name before any of its bytes are handed out, so a reader never sees corrupt data, and at
// most one chunk (the store's maximum chunk size) is held in memory. Made by
// ArtifactHandle::OpenFile. Movable; use from one thread at a time.
class ArtifactFileReader {
 public:
  ArtifactFileReader(ArtifactFileReader&&) noexcept;
  ArtifactFileReader& operator=(ArtifactFileReader&&) noexcept;
  ~ArtifactFileReader();

  uint64_t size() const;
  // Copies up to `capacity` of the next bytes into `out`; 0 once the whole file was read.
  // Corruption / NotFound as ArtifactHandle::Download.
  Result<size_t> Read(char* out, size_t capacity);

  struct State;

 private:
  friend class ArtifactHandle;
  explicit ArtifactFileReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// A resolved version returned by ArtifactStore::Use. Holds the manifest in memory; reading file
// bytes touches only blobs/ (and the ChunkSource attached with ReadingMissingChunksFrom, for
// chunks blobs/ lacks). Immutable and cheap to copy; const methods are thread-safe.
class ArtifactHandle {
 public:
  const ArtifactVersionInfo& info() const;
  const std::vector<ArtifactFileInfo>& files() const;
  const std::vector<ArtifactReferenceInfo>& references() const;

  // Writes every file below `dir` (created if needed), byte-exact, each first to a temporary name
  // and renamed only after every one of its chunks matched its SHA-256 name and size (with the
  // manifest's own digest, that pins the whole file). Corruption names the file and the bad
  // chunk; NotFound if a chunk is missing. Existing files of the same name are replaced. Large
  // files are assembled by several threads, all joined before it returns.
  Status Download(const std::filesystem::path& dir, const ProgressCallback& progress = {}) const;
  // The whole content of one file, verified like Download.
  Result<std::string> ReadFile(std::string_view path) const;
  // One file as a stream with bounded memory (see ArtifactFileReader). NotFound as ReadFile.
  Result<ArtifactFileReader> OpenFile(std::string_view path) const;

  // A copy of this handle that reads a chunk missing from blobs/ from `source` (chunk_source.h;
  // null: blobs/ only, the default). The source's bytes are verified like local ones. With a
  // source, OpenFile reads the file's first chunk at once, so a chunk that cannot be fetched or
  // is corrupt is reported by OpenFile (before a caller starts sending) rather than mid-stream.
  ArtifactHandle ReadingMissingChunksFrom(std::shared_ptr<const ChunkSource> source) const;

  struct Impl;

 private:
  friend class ArtifactStore;
  explicit ArtifactHandle(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  std::shared_ptr<const ChunkSource> missing_chunks_;
};

enum class DeleteMode { kSoft, kPermanent };

// One claimed version number of a name as ArtifactStore::Export finds it, with everything a
// lossless copy into another catalog needs (the PostgreSQL back end's PgArtifactRepository::CopyFrom).
struct ExportedArtifactVersion {
  int version = 0;
  std::string state;           // "pending" (claimed, unpublished), "ready", "deleted" or "purged"
  // Ready and deleted only: the public record (aliases empty), files, references, the distinct
  // chunks (SHA-256 hex -> size) and the manifest's exact bytes (its digest covers them).
  ArtifactVersionInfo info;
  std::vector<ArtifactFileInfo> files;
  std::vector<ArtifactReferenceInfo> references;
  std::map<std::string, uint64_t> chunks;
  std::string manifest_text;
  std::vector<std::string> used_by_runs;  // sorted run ids (lineage "uses")
};
struct ExportedArtifactName {
  std::string name;
  ArtifactType type = ArtifactType::kCustom;
  std::vector<ExportedArtifactVersion> versions;  // ascending, every claimed number
  std::map<std::string, int> aliases;             // user aliases only ("latest" is computed)
};

class ArtifactStore {
 public:
  // Creates <root>/artifacts and <root>/blobs if needed and records the chunking of a new store.
  // InvalidArgument for bad chunking options; FailedPrecondition if they differ from the store's
  // recorded chunking; Corruption if that record cannot be read. options().chunking is then set.
  static Result<ArtifactStore> Open(const std::filesystem::path& root, ArtifactStoreOptions options = {});

  // Chunks, stores and publishes a new version of `artifact`; returns its number (1, 2, 3, ...
  // per name, never reused). `producing_run_id` must be a valid run id, or empty for none.
  // FailedPrecondition if the artifact has no files and no references; AlreadyExists if the
  // name is taken by another type; NotFound/InvalidArgument if a file vanished or changed kind.
  // A writer killed midway leaves no visible version; its orphan chunks are reclaimed by Gc().
  Result<int> Log(const Artifact& artifact, std::string_view producing_run_id);

  // Resolves "name", "name:latest", "name:vN" or "name:<alias>", records that `using_run_id`
  // used it (skipped when empty), and returns a handle. NotFound lists the existing names,
  // versions or aliases; FailedPrecondition for a soft-deleted version.
  Result<ArtifactHandle> Use(std::string_view spec, std::string_view using_run_id);

  // Points `alias` at `version` (which must be ready), moving it off any other version.
  Status SetAlias(std::string_view name, std::string_view alias, int version);
  Status RemoveAlias(std::string_view name, std::string_view alias);
  // alias -> version, "latest" included.
  Result<std::map<std::string, int>> Aliases(std::string_view name);

  // Soft delete hides a version from listings, "latest" and Use, keeping its data and aliases.
  // Permanent delete removes its manifest (its number stays burnt), drops user aliases on it
  // ("latest" moves to the newest remaining version), and leaves the chunks to Gc().
  Status Delete(std::string_view name, int version, DeleteMode mode = DeleteMode::kSoft);
  // Undoes a soft delete. NotFound for a permanently deleted version.
  Status Restore(std::string_view name, int version);

  // Removes chunks that no retained manifest references and whose modification time is older
  // than `grace_period`, plus stale temporary files. Corruption (and removes nothing) if any
  // manifest cannot be read, since its chunks would be unknown.
  // `progress` counts the fan-out directories of blobs/ examined.
  Result<GcReport> Gc(std::chrono::seconds grace_period = std::chrono::hours(1),
                      const ProgressCallback& progress = {});
  // The distinct chunks (SHA-256 hex, sorted) the retained versions reference: what a collector
  // of another copy of the chunks (an object store) must keep. Corruption naming the version if
  // a manifest cannot be read, since its chunks would be unknown.
  Result<std::vector<std::string>> ReferencedChunks();

  // Names with at least one ready version, sorted by name, optionally of one type.
  Result<std::vector<ArtifactSummary>> ListArtifacts(std::optional<ArtifactType> type = std::nullopt);
  // Versions of one name, ascending; soft-deleted ones only when asked.
  Result<std::vector<ArtifactVersionInfo>> ListVersions(std::string_view name, bool include_deleted = false);
  // Detail of one version, soft-deleted included.
  Result<ArtifactVersionInfo> GetVersion(std::string_view name, int version);
  Result<ArtifactFileList> ListFiles(std::string_view name, int version);

  // Upstream (producing run, the artifacts it used, their producers, ...) and downstream (runs
  // using this version, what they produced, ...) breadth-first, each direction with its own
  // visited set, at most `max_depth` hops each way (clamped to 10; 0 = the root alone).
  // Permanently deleted versions are left out.
  Result<LineageGraph> Lineage(std::string_view name, int version, int max_depth = 3);

  Result<ArtifactStats> Stats();

  // Every name of every type with all its claimed versions, sorted by type then name: what a copy
  // into another catalog (PostgreSQL) reads. Corruption naming the version if a retained manifest
  // cannot be read or verified, since the copy would lose it.
  Result<std::vector<ExportedArtifactName>> Export();
  // A handle over a manifest kept outside this store (another catalog holds it), reading chunks
  // from this store's blobs/ (and a source attached with ReadingMissingChunksFrom). The text is
  // verified like a manifest file: Corruption if it fails to parse or its digest. Its info() has
  // status "ready" and the given aliases.
  Result<ArtifactHandle> HandleFromManifest(std::string_view manifest_text, std::vector<std::string> aliases) const;

  const std::filesystem::path& root() const { return root_; }
  const ArtifactStoreOptions& options() const { return options_; }

 private:
  ArtifactStore(std::filesystem::path root, ArtifactStoreOptions options)
      : root_(std::move(root)), options_(options) {}

  std::filesystem::path root_;
  ArtifactStoreOptions options_;
};

}  // namespace runtrack
