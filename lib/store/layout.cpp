#include "runtrack/layout.h"

#include <string>

#include <fmt/format.h>

namespace runtrack {
namespace fs = std::filesystem;

fs::path StoreLayout::runs_dir() const { return root_ / "runs"; }
fs::path StoreLayout::run_dir(std::string_view run_id) const { return runs_dir() / std::string(run_id); }
fs::path StoreLayout::journal_path(std::string_view run_id) const { return run_dir(run_id) / "journal"; }
fs::path StoreLayout::lock_path(std::string_view run_id) const { return run_dir(run_id) / "lock"; }
fs::path StoreLayout::deleted_marker(std::string_view run_id) const { return run_dir(run_id) / "deleted"; }
fs::path StoreLayout::media_dir(std::string_view run_id) const { return run_dir(run_id) / "media"; }
fs::path StoreLayout::environment_path(std::string_view run_id) const {
  return run_dir(run_id) / "environment.json";
}
fs::path StoreLayout::assets_path(std::string_view run_id) const { return run_dir(run_id) / "assets.json"; }
fs::path StoreLayout::shipped_path(std::string_view run_id) const { return run_dir(run_id) / "shipped"; }
fs::path StoreLayout::ship_confirmed_path(std::string_view run_id) const {
  return run_dir(run_id) / "ship-confirmed";
}
fs::path StoreLayout::receiving_marker(std::string_view run_id) const { return run_dir(run_id) / "receiving"; }
std::string_view StoreLayout::journal_stream_prefix() { return "journal."; }
fs::path StoreLayout::stream_journal_path(std::string_view run_id, std::string_view stream) const {
  if (stream == "0") return journal_path(run_id);
  return run_dir(run_id) / (std::string(journal_stream_prefix()) + std::string(stream));
}
fs::path StoreLayout::segments_dir(std::string_view run_id) const { return run_dir(run_id) / "segments"; }
fs::path StoreLayout::segment_path(std::string_view run_id, uint32_t series_id, uint64_t point_count) const {
  return segments_dir(run_id) / fmt::format("{:08x}-{:016x}.seg", series_id, point_count);
}
fs::path StoreLayout::lod_path(std::string_view run_id, uint32_t series_id, uint64_t point_count) const {
  return segments_dir(run_id) / fmt::format("{:08x}-{:016x}.lod", series_id, point_count);
}
fs::path StoreLayout::compacting_journal_path(std::string_view run_id) const {
  return run_dir(run_id) / "journal-compacting";
}
fs::path StoreLayout::reindex_marker(std::string_view run_id) const { return run_dir(run_id) / "reindex"; }
fs::path StoreLayout::shipping_stream_path(std::string_view run_id) const { return run_dir(run_id) / "stream"; }
fs::path StoreLayout::system_ship_root(std::string_view run_id) const { return run_dir(run_id) / "system-ship"; }
fs::path StoreLayout::catalog_dir() const { return root_ / "catalog"; }
fs::path StoreLayout::artifacts_dir() const { return root_ / "artifacts"; }
fs::path StoreLayout::blobs_dir() const { return root_ / "blobs"; }
fs::path StoreLayout::viewer_endpoint_path() const { return root_ / "viewer.json"; }
fs::path StoreLayout::users_path() const { return root_ / "users.json"; }
fs::path StoreLayout::users_lock_path() const { return root_ / "users.json.lock"; }
fs::path StoreLayout::token_key_path() const { return root_ / "token_key"; }
fs::path StoreLayout::ssh_known_hosts_path() const { return root_ / "ssh_known_hosts"; }
fs::path StoreLayout::training_dir() const { return root_ / "training"; }
fs::path StoreLayout::training_job_dir(std::string_view task_id) const {
  return training_dir() / "jobs" / std::string(task_id);
}
fs::path StoreLayout::model_cache_dir() const { return training_dir() / "model_cache"; }

}  // namespace runtrack
