// What every handler may use: the store root, the catalog (this process is its indexer), the
// artifact store and a few facts about the server. Built once by the viewer (or a test) before
// the server starts; handlers receive it by const reference and only call thread-safe methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/status.h"

namespace runicorn::server {

struct AppContext {
  std::filesystem::path root;          // absolute store root
  std::filesystem::path config_file;   // where POST /api/config/user_root_dir persists
  std::string version;
  double started_at = 0;
  std::unique_ptr<runtrack::Catalog> catalog;
  // ArtifactStore keeps no mutable state (see artifacts.h), so non-const use from handlers on a
  // const context is safe; it is a pointer only to allow that.
  std::unique_ptr<runtrack::ArtifactStore> artifacts;
  // Bumped by the indexer after every Refresh() that ingested something; streams poll it so an
  // idle WebSocket costs nothing.
  std::atomic<uint64_t> index_generation{0};

  std::filesystem::path run_dir(std::string_view run_id) const { return root / "runs" / std::string(run_id); }

  // Opens the catalog and artifact store of `root` (created if missing). kBusy when another
  // process holds the catalog.
  static runtrack::Result<std::unique_ptr<AppContext>> Open(const std::filesystem::path& root);
};

// The semantic version of this build ("0.1.0").
std::string RunicornVersion();
double NowSeconds();

}  // namespace runicorn::server
