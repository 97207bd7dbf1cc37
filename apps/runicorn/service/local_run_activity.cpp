#include "service/local_run_activity.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/validation.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;
namespace fs = std::filesystem;

namespace {

// The default stream's journal size, or 0 when there is none (a run with other streams only).
uint64_t JournalSize(const fs::path& journal) {
  std::error_code ec;
  const auto size = fs::file_size(journal, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

}  // namespace

Result<std::vector<std::string>> StoreRunActivity::Runs() {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(layout_.runs_dir(), ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return Status::IOError(fmt::format("cannot list {}: {}", layout_.runs_dir().string(), ec.message()));
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError(fmt::format("cannot list {}: {}", layout_.runs_dir().string(), ec.message()));
    std::string name = it->path().filename().string();
    // Other entries (temporary files, foreign folders) are no run: they cannot be ingested to.
    if (runtrack::ValidateRunId(name).ok()) out.push_back(std::move(name));
  }
  return out;
}

Result<bool> StoreRunActivity::Settled(std::string_view run_id) {
  std::error_code ec;
  if (fs::exists(layout_.receiving_marker(run_id), ec) || ec) {
    settled_.erase(std::string(run_id));
    return false;  // still arriving (or cannot tell)
  }
  const uint64_t size = JournalSize(layout_.journal_path(run_id));
  if (auto it = settled_.find(run_id); it != settled_.end() && it->second == size) return true;
  if (!sealing_) return false;  // nothing leaves this disk without a team back end's sealing
  RUNTRACK_ASSIGN_OR_RETURN(RunSealState state, sealing_->State(run_id, runtrack::kDefaultJournalStream));
  if (!state.sealed) return false;
  if (settled_.size() >= 100000) settled_.clear();  // bounded; re-asked at most once more each
  settled_[std::string(run_id)] = size;
  return true;
}

}  // namespace runicorn::service
