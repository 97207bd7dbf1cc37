#include "service/preferences_service.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace runicorn::service {
namespace bj = boost::json;
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

Status CheckKey(const std::string& value, const char* what) {
  if (value.empty()) return Status::InvalidArgument(fmt::format("{} is required and must be a non-empty string", what));
  if (value.size() > PreferencesService::kMaxKeyBytes)
    return Status::InvalidArgument(fmt::format("{} is longer than {} bytes", what, PreferencesService::kMaxKeyBytes));
  if (value.find('\0') != std::string::npos) return Status::InvalidArgument(fmt::format("{} contains a NUL byte", what));
  return Status::Ok();
}

std::string EntryKey(const std::string& table, const std::string& size) { return table + "@" + size; }

// The whole file, or {} when it is missing or not a JSON object.
bj::object Load(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

Status Store(const fs::path& file, const bj::object& prefs) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  fs::path tmp = file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bj::serialize(prefs);
    out.flush();
    if (!out) return Status::IOError(fmt::format("Cannot write {}", tmp.string()));
  }
  fs::rename(tmp, file, ec);
  if (ec) return Status::IOError(fmt::format("Cannot write {}: {}", file.string(), ec.message()));
  return Status::Ok();
}

bj::object& Section(bj::object& prefs, const char* name) {
  bj::value& v = prefs[name];
  if (!v.is_object()) v = bj::object();
  return v.as_object();
}

std::vector<std::string> Alerts(const bj::object& prefs) {
  std::vector<std::string> out;
  const bj::value* v = prefs.if_contains("dismissed_alerts");
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& item : v->as_array())
    if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

void SetAlerts(bj::object& prefs, const std::vector<std::string>& alerts) {
  bj::array a;
  for (const auto& id : alerts) a.emplace_back(id);
  prefs["dismissed_alerts"] = std::move(a);
}

}  // namespace

fs::path PreferencesFileFor(const fs::path& config_file) { return config_file.parent_path() / "ui_preferences.json"; }

Result<ColumnWidths> PreferencesService::GetColumnWidths(const std::string& table, const std::string& size) const {
  RUNTRACK_RETURN_IF_ERROR(CheckKey(table, "table"));
  RUNTRACK_RETURN_IF_ERROR(CheckKey(size, "size"));
  std::lock_guard<std::mutex> lock(mu_);
  ColumnWidths out{table, size, {}};
  bj::object prefs = Load(file_);
  const bj::value* all = prefs.if_contains("column_widths");
  if (all == nullptr || !all->is_object()) return out;
  const bj::value* entry = all->as_object().if_contains(EntryKey(table, size));
  if (entry == nullptr || !entry->is_object()) return out;
  const bj::value* widths = entry->as_object().if_contains("widths");
  if (widths == nullptr || !widths->is_object()) return out;
  // Only what SaveColumnWidths would have accepted: a hand-edited file cannot smuggle in more.
  for (const auto& [column, width] : widths->as_object())
    if (width.is_int64() && width.as_int64() >= 0 && width.as_int64() <= kMaxWidth)
      out.widths[std::string(column)] = width.as_int64();
  return out;
}

Status PreferencesService::SaveColumnWidths(const ColumnWidthsUpdate& update) {
  RUNTRACK_RETURN_IF_ERROR(CheckKey(update.widths.table, "table"));
  RUNTRACK_RETURN_IF_ERROR(CheckKey(update.widths.size, "size"));
  if (update.widths.widths.size() > kMaxColumns)
    return Status::InvalidArgument(fmt::format("widths has more than {} columns", kMaxColumns));
  bj::object widths;
  for (const auto& [column, width] : update.widths.widths) {
    RUNTRACK_RETURN_IF_ERROR(CheckKey(column, "column name"));
    if (width < 0 || width > kMaxWidth)
      return Status::InvalidArgument(fmt::format("width of column '{}' must be an integer in [0, {}]", column, kMaxWidth));
    widths[column] = width;
  }
  for (const auto& dim : {update.window_width, update.window_height})
    if (dim && (*dim < 0 || *dim > kMaxWidth))
      return Status::InvalidArgument(fmt::format("window_width and window_height must be integers in [0, {}]", kMaxWidth));
  std::lock_guard<std::mutex> lock(mu_);
  bj::object prefs = Load(file_);
  bj::object entry{{"widths", std::move(widths)},
                   {"window_width", update.window_width ? bj::value(*update.window_width) : bj::value(nullptr)},
                   {"window_height", update.window_height ? bj::value(*update.window_height) : bj::value(nullptr)},
                   {"updated_at", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()}};
  Section(prefs, "column_widths")[EntryKey(update.widths.table, update.widths.size)] = std::move(entry);
  return Store(file_, prefs);
}

Result<int> PreferencesService::DeleteColumnWidths(const std::string& table, const std::optional<std::string>& size) {
  RUNTRACK_RETURN_IF_ERROR(CheckKey(table, "table"));
  if (size) RUNTRACK_RETURN_IF_ERROR(CheckKey(*size, "size"));
  std::lock_guard<std::mutex> lock(mu_);
  bj::object prefs = Load(file_);
  bj::object& all = Section(prefs, "column_widths");
  int removed = 0;
  if (size) {
    removed = all.erase(EntryKey(table, *size)) ? 1 : 0;
  } else {
    const std::string prefix = table + "@";
    for (auto it = all.begin(); it != all.end();) {
      if (std::string_view(it->key()).starts_with(prefix)) {
        it = all.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  }
  if (removed == 0) return 0;  // nothing to write
  RUNTRACK_RETURN_IF_ERROR(Store(file_, prefs));
  return removed;
}

std::vector<std::string> PreferencesService::DismissedAlerts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return Alerts(Load(file_));
}

Status PreferencesService::DismissAlert(const std::string& alert_id) {
  RUNTRACK_RETURN_IF_ERROR(CheckKey(alert_id, "alert_id"));
  std::lock_guard<std::mutex> lock(mu_);
  bj::object prefs = Load(file_);
  std::vector<std::string> alerts = Alerts(prefs);
  if (std::find(alerts.begin(), alerts.end(), alert_id) != alerts.end()) return Status::Ok();
  if (alerts.size() >= kMaxDismissed)
    return Status::InvalidArgument(fmt::format("At most {} alerts can be dismissed; clear some first", kMaxDismissed));
  alerts.push_back(alert_id);
  SetAlerts(prefs, alerts);
  return Store(file_, prefs);
}

Status PreferencesService::UndismissAlert(const std::string& alert_id) {
  RUNTRACK_RETURN_IF_ERROR(CheckKey(alert_id, "alert_id"));
  std::lock_guard<std::mutex> lock(mu_);
  bj::object prefs = Load(file_);
  std::vector<std::string> alerts = Alerts(prefs);
  auto it = std::find(alerts.begin(), alerts.end(), alert_id);
  if (it == alerts.end()) return Status::Ok();
  alerts.erase(it);
  SetAlerts(prefs, alerts);
  return Store(file_, prefs);
}

Status PreferencesService::ClearDismissedAlerts() {
  std::lock_guard<std::mutex> lock(mu_);
  bj::object prefs = Load(file_);
  SetAlerts(prefs, {});
  return Store(file_, prefs);
}

}  // namespace runicorn::service
