// StoreLayout: where everything lives under a store root. This is the only code that spells a path
// component of a store (`runs`, `journal`, `lock`, `catalog`, ...); everything else asks it.
//
//   <root>/runs/<run_id>/journal      the run's CRC-framed journal (docs/FORMATS.md)
//   <root>/runs/<run_id>/lock         held with flock by the run's live writer
//   <root>/runs/<run_id>/deleted      present while the run is soft-deleted
//   <root>/runs/<run_id>/media/       images and files the run logged
//   <root>/runs/<run_id>/shipped      journal offset acknowledged by a central viewer (REMOTE.md)
//   <root>/runs/<run_id>/receiving    on that viewer: the run is still arriving (REMOTE.md)
//   <root>/catalog/                   the RocksDB catalog (derived data)
//   <root>/artifacts/, <root>/blobs/  artifact versions and their chunks (FORMATS-artifacts.md)
//   <root>/viewer.json                the running viewer's address and local credential
//   <root>/users.json, <root>/token_key  /api/v1 users and its token signing key (0600)
//
// A run id must have been validated (ValidateRunId) before it is passed here: a valid id is one
// path component, so nothing built from it can leave <root>/runs/.
//
// Thread safety: an immutable value; use from any thread.
#pragma once

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
  // The journal byte offset a central viewer has acknowledged as durable (docs/REMOTE.md).
  std::filesystem::path shipped_path(std::string_view run_id) const;
  // On a central viewer: present while the run's journal arrives by shipping and its final record
  // has not, so a restarted viewer takes the run's lock again before indexing (REMOTE.md).
  std::filesystem::path receiving_marker(std::string_view run_id) const;

  std::filesystem::path catalog_dir() const;
  std::filesystem::path artifacts_dir() const;
  std::filesystem::path blobs_dir() const;
  // Written by `runicorn viewer` while it serves this root (owner-only permissions), read by the
  // CLI to reach it when the viewer holds the catalog.
  std::filesystem::path viewer_endpoint_path() const;
  // The training service API's (/api/v1) users with their salted password hashes, and the key its
  // login tokens are signed with; both owner-only (0600), written by apps/runicorn/service.
  std::filesystem::path users_path() const;
  std::filesystem::path token_key_path() const;

 private:
  std::filesystem::path root_;
};

}  // namespace runtrack
