// StoreLayout: where everything lives under a store root. This is the only code that spells a path
// component of a store (`runs`, `journal`, `lock`, `catalog`, ...); everything else asks it.
//
//   <root>/runs/<run_id>/journal      the run's CRC-framed journal (docs/FORMATS.md)
//   <root>/runs/<run_id>/lock         held with flock by the run's live writer
//   <root>/runs/<run_id>/deleted      present while the run is soft-deleted
//   <root>/runs/<run_id>/media/       images and files the run logged
//   <root>/runs/<run_id>/assets.json  Runicorn v0.6's run assets (code, config, datasets, ...)
//   <root>/runs/<run_id>/shipped      journal offset acknowledged by a central viewer (REMOTE.md)
//   <root>/runs/<run_id>/receiving    on that viewer: the run is still arriving (REMOTE.md)
//   <root>/runs/<run_id>/journal.<S>  on that viewer: stream S (a rank > 0) of a multi-process run
//   <root>/runs/<run_id>/stream       on a writer's node: the stream its run ships as (REMOTE.md)
//   <root>/runs/<run_id>/system-ship/ on a writer's node: its system-metrics stream, shipped (SYSTEM.md)
//   <root>/runs/<run_id>/segments/    a finished run's sealed metric segments + LOD objects
//   <root>/runs/<run_id>/journal-compacting  the journal being rewritten without its points
//   <root>/runs/<run_id>/reindex      the run was replaced by a compacted copy: index it again
//   <root>/catalog/                   the RocksDB catalog (derived data)
//   <root>/artifacts/, <root>/blobs/  artifact versions and their chunks (FORMATS-artifacts.md)
//   <root>/viewer.json                the running viewer's address and local credential
//   <root>/users.json, <root>/token_key  /api/v1 users and its token signing key (0600)
//   <root>/ssh_known_hosts            host keys the SSH remote has been told to trust (REMOTE.md)
//
// A run id must have been validated (ValidateRunId) before it is passed here: a valid id is one
// path component, so nothing built from it can leave <root>/runs/.
//
// Thread safety: an immutable value; use from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace runtrack {

class StoreLayout {
 public:
  explicit StoreLayout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path runs_dir() const;
  std::filesystem::path run_dir(std::string_view run_id) const;
  std::filesystem::path journal_path(std::string_view run_id) const;
  std::filesystem::path lock_path(std::string_view run_id) const;
  std::filesystem::path deleted_marker(std::string_view run_id) const;
  std::filesystem::path media_dir(std::string_view run_id) const;
  // Runicorn's environment capture (environment.json), written by the SDK into the run folder.
  std::filesystem::path environment_path(std::string_view run_id) const;
  // Runicorn v0.6's assets.json (code snapshot, config, datasets, pretrained, outputs), written by
  // Run::RecordAsset.
  std::filesystem::path assets_path(std::string_view run_id) const;
  // The journal byte offset a central viewer has acknowledged as durable (docs/REMOTE.md).
  std::filesystem::path shipped_path(std::string_view run_id) const;
  // The journal length a server confirmed durable beyond its owner's disk (sealed and published
  // with a team back end, or acknowledged by a single viewer): until it reaches the journal's end
  // the run is checked again and its journal kept uncompacted (REMOTE.md "Sealed confirmation").
  std::filesystem::path ship_confirmed_path(std::string_view run_id) const;
  // On a central viewer: present while the run's journal arrives by shipping and its final record
  // has not, so a restarted viewer takes the run's lock again before indexing (REMOTE.md).
  std::filesystem::path receiving_marker(std::string_view run_id) const;
  // Multi-process runs (REMOTE.md "Streams"): on a central viewer, stream "0" (rank 0) is
  // journal_path() and any other stream S is `journal.S`; `stream` must have passed
  // ValidateJournalStream (remote.h), so it is one path component. `journal_stream_prefix()` is
  // the file-name prefix ("journal.") the catalog and receiver list stream files by.
  std::filesystem::path stream_journal_path(std::string_view run_id, std::string_view stream) const;
  static std::string_view journal_stream_prefix();
  // A finished run's sealed metric segments and their LOD objects (docs/FORMATS-segments.md), one
  // pair per series and sealing: `segments/<series id, 8 hex>-<point count, 16 hex>.seg|.lod`.
  // Named by the series' numeric id, never by its name (which comes from outside), and by its
  // point count, so re-sealing a series that grew writes new files while the catalog's index
  // still points at the old ones.
  std::filesystem::path segments_dir(std::string_view run_id) const;
  std::filesystem::path segment_path(std::string_view run_id, uint32_t series_id, uint64_t point_count) const;
  std::filesystem::path lod_path(std::string_view run_id, uint32_t series_id, uint64_t point_count) const;
  // The compacted journal while it is written (docs/FORMATS.md "Compacted journal"), renamed over
  // journal_path() once durable. Not "journal.<x>": that would be listed as a stream.
  std::filesystem::path compacting_journal_path(std::string_view run_id) const;
  // Present while a run replaced wholesale by a compacted copy from another store (SSH pull sync,
  // runtrack/compacted_run.h) is still indexed as the copy it replaced: the catalog then forgets
  // the run, indexes it again from scratch and removes the marker.
  std::filesystem::path reindex_marker(std::string_view run_id) const;
  // On a writer's node: the stream name its run ships as (absent: "0"), written at CreateRun.
  std::filesystem::path shipping_stream_path(std::string_view run_id) const;
  // On a writer's node that ships: the run's per-node system-metrics stream (docs/SYSTEM.md) as a
  // store root of its own, `system-ship/`, so the journal shipper sends it like any run: its
  // runs/<id>/journal is a hard link to stream_journal_path(id, "system:<host>").
  std::filesystem::path system_ship_root(std::string_view run_id) const;

  std::filesystem::path catalog_dir() const;
  std::filesystem::path artifacts_dir() const;
  std::filesystem::path blobs_dir() const;
  // Written by `runicorn viewer` while it serves this root (owner-only permissions), read by the
  // CLI to reach it when the viewer holds the catalog.
  std::filesystem::path viewer_endpoint_path() const;
  // The training service API's (/api/v1) users with their salted password hashes, and the key its
  // login tokens are signed with; both owner-only (0600), written by apps/runicorn/service.
  std::filesystem::path users_path() const;
  // flock'ed around a read-modify-write of users_path(), so concurrent `users add` lose nothing.
  std::filesystem::path users_lock_path() const;
  std::filesystem::path token_key_path() const;
  // The SSH remote's known_hosts (apps/runicorn/service/ssh): host keys confirmed for this store.
  std::filesystem::path ssh_known_hosts_path() const;
  // The training service's jobs (apps/runicorn/service/training_service.h): `training_dir()` is
  // the task runner's project (its `_pyruns_/` workspace), `training_job_dir(id)` one job's files
  // (`id` must be a validated UUID), `model_cache_dir()` model versions unpacked for generation.
  std::filesystem::path training_dir() const;
  std::filesystem::path training_job_dir(std::string_view task_id) const;
  std::filesystem::path model_cache_dir() const;

 private:
  std::filesystem::path root_;
};

}  // namespace runtrack
