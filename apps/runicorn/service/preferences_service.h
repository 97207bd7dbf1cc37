// The web UI's preferences, kept in the user config dir next to config.json as
// ui_preferences.json (Runicorn's file and shape): per-table column widths keyed "<table>@<size>"
// and the list of dismissed alert ids.
//
// Every input comes from a request and is checked here: table, size and alert ids are non-empty
// strings of at most 200 bytes; a width is an integer in [0, 100000]; at most 500 columns per
// table and 1000 dismissed alerts. A file that is missing or unreadable reads as empty (a UI
// preference is never worth an error), and writes are atomic (temporary file + rename), so a
// crash leaves the old or the new file, never half of one.
//
// Thread safety: all methods may be called concurrently (one mutex serialises read-modify-write).
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

struct ColumnWidths {
  std::string table;
  std::string size;                    // the window size class, e.g. "1600x1000"
  std::map<std::string, int64_t> widths;  // column -> pixels; empty when none are saved
};

struct ColumnWidthsUpdate {
  ColumnWidths widths;
  std::optional<int64_t> window_width, window_height;
};

class PreferencesService {
 public:
  static constexpr size_t kMaxKeyBytes = 200;
  static constexpr size_t kMaxColumns = 500;
  static constexpr int64_t kMaxWidth = 100000;
  static constexpr size_t kMaxDismissed = 1000;

  explicit PreferencesService(std::filesystem::path file) : file_(std::move(file)) {}

  runtrack::Result<ColumnWidths> GetColumnWidths(const std::string& table, const std::string& size) const;
  runtrack::Status SaveColumnWidths(const ColumnWidthsUpdate& update);
  // One size of a table, or (no size) every size of it. Returns how many entries were removed.
  runtrack::Result<int> DeleteColumnWidths(const std::string& table, const std::optional<std::string>& size);

  std::vector<std::string> DismissedAlerts() const;
  runtrack::Status DismissAlert(const std::string& alert_id);    // no-op if already dismissed
  runtrack::Status UndismissAlert(const std::string& alert_id);  // no-op if not dismissed
  runtrack::Status ClearDismissedAlerts();

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  mutable std::mutex mu_;
};

// ui_preferences.json beside the user config file.
std::filesystem::path PreferencesFileFor(const std::filesystem::path& config_file);

}  // namespace runicorn::service
