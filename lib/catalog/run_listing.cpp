#include "catalog/run_listing.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace runtrack::catalog {
namespace {

bool HasTag(const RunSummary& row, const std::string& tag) {
  return std::find(row.tags.begin(), row.tags.end(), tag) != row.tags.end();
}

enum class SortField { kCreatedAt, kUpdatedAt, kBestMetricValue, kStatus };

SortField ParseSortField(std::string_view field) {
  if (field == "updated_at") return SortField::kUpdatedAt;
  if (field == "best_metric_value") return SortField::kBestMetricValue;
  if (field == "status") return SortField::kStatus;
  return SortField::kCreatedAt;  // CheckRunQuery has rejected anything else
}

// Orders rows by the sort field; rows without a best value sort after all others either way.
// Ties are broken by run id so pages are stable.
struct RowOrder {
  SortField field;
  bool descending;

  bool operator()(const RunSummary* a, const RunSummary* b) const {
    int c = Compare(*a, *b);
    if (c != 0) return descending ? c > 0 : c < 0;
    return a->id < b->id;
  }
  int Compare(const RunSummary& a, const RunSummary& b) const {
    switch (field) {
      case SortField::kBestMetricValue:
        if (a.best_metric_value.has_value() != b.best_metric_value.has_value())
          return (a.best_metric_value.has_value() ? -1 : 1) * (descending ? -1 : 1);
        if (!a.best_metric_value) return 0;
        return Three(*a.best_metric_value, *b.best_metric_value);
      case SortField::kUpdatedAt: return Three(a.updated_at, b.updated_at);
      case SortField::kStatus: return Three(RunStatusName(a.status), RunStatusName(b.status));
      case SortField::kCreatedAt: break;
    }
    return Three(a.created_at, b.created_at);
  }
  template <typename T>
  static int Three(const T& x, const T& y) { return x < y ? -1 : (y < x ? 1 : 0); }
};

}  // namespace

Status CheckRunQuery(const RunQuery& q) {
  static constexpr std::string_view kSortable[] = {"created_at", "updated_at", "best_metric_value", "status"};
  if (std::find(std::begin(kSortable), std::end(kSortable), q.sort_by) == std::end(kSortable))
    return Status::InvalidArgument(fmt::format(
        "cannot sort by '{}': expected one of created_at, updated_at, best_metric_value, status", q.sort_by));
  if (q.best_metric_min && q.best_metric_max && *q.best_metric_min > *q.best_metric_max)
    return Status::InvalidArgument("best_metric_min is greater than best_metric_max");
  if (q.created_after && q.created_before && *q.created_after > *q.created_before)
    return Status::InvalidArgument("created_after is later than created_before");
  return Status::Ok();
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string SearchText(const RunSummary& row) {
  std::string text = row.id + '\n' + row.project + '\n' + row.name;
  for (const std::string& tag : row.tags) text += '\n' + tag;
  return ToLower(text);
}

bool MatchesRunQuery(const RunSummary& row, std::string_view search_text, const RunQuery& q,
                     std::string_view needle) {
  bool deleted = row.deleted_at.has_value();
  if (q.deleted_only ? !deleted : (deleted && !q.include_deleted)) return false;
  if (!q.project.empty() && row.project != q.project) return false;
  if (!q.name.empty() && row.name != q.name) return false;
  if (!q.statuses.empty() && std::find(q.statuses.begin(), q.statuses.end(), row.status) == q.statuses.end())
    return false;
  for (const std::string& tag : q.tags)
    if (!HasTag(row, tag)) return false;
  if (q.created_after && row.created_at < *q.created_after) return false;
  if (q.created_before && row.created_at > *q.created_before) return false;
  if (q.best_metric_min || q.best_metric_max) {
    if (!row.best_metric_value) return false;
    if (q.best_metric_min && *row.best_metric_value < *q.best_metric_min) return false;
    if (q.best_metric_max && *row.best_metric_value > *q.best_metric_max) return false;
  }
  // Fields are joined with '\n', so a needle without one matches inside a single field.
  if (!needle.empty() && search_text.find(needle) == std::string_view::npos) return false;
  return true;
}

std::vector<const RunSummary*> SortAndPage(std::vector<const RunSummary*> rows, const RunQuery& q) {
  RowOrder order{ParseSortField(q.sort_by), q.descending};
  size_t begin = std::min<uint64_t>(q.offset, rows.size());
  size_t end = q.limit == 0 ? rows.size() : std::min<uint64_t>(rows.size(), begin + q.limit);
  // Only the rows up to the end of the page need to be in order.
  std::partial_sort(rows.begin(), rows.begin() + end, rows.end(), order);
  return {rows.begin() + begin, rows.begin() + end};
}

}  // namespace runtrack::catalog
