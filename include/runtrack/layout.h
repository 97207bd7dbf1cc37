// StoreLayout: where everything lives under a store root. This is the only code that spells a path
// component of a store (`runs`, `journal`, `lock`, `catalog`, ...); everything else asks it.
//
//   <root>/runs/<run_id>/journal      the run's CRC-framed journal (docs/FORMATS.md)
//   <root>/runs/<run_id>/lock         held with flock by the run's live writer
//   <root>/runs/<run_id>/deleted      present while the run is soft-deleted
//   <root>/runs/<run_id>/media/       images and files the run logged
//   <root>/catalog/                   the RocksDB catalog (derived data)
//   <root>/artifacts/, <root>/blobs/  artifact versions and their chunks (FORMATS-artifacts.md)
//   <root>/viewer.json                the running viewer's address and local credential
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

  std::filesystem::path catalog_dir() const;
  std::filesystem::path artifacts_dir() const;
  std::filesystem::path blobs_dir() const;
  // Written by `runicorn viewer` while it serves this root (owner-only permissions), read by the
  // CLI to reach it when the viewer holds the catalog.
  std::filesystem::path viewer_endpoint_path() const;

 private:
  std::filesystem::path root_;
};

}  // namespace runtrack
