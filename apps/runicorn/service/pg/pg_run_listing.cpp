#include "service/pg/pg_run_listing.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include "runtrack/json_parse.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

const char* const kRunSummaryColumns =
    "id, project, name, status, exit_reason, created_at, updated_at, ended_at, deleted_at, pid, hostname,"
    " to_json(tags)::text AS tags_json, best_metric_name, best_metric_mode, best_metric_value, best_metric_step,"
    " artifacts_created_count, artifacts_used_count, path, alias";

namespace {

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  return out;
}

// LIKE's wildcards and its escape character in the needle are data.
std::string LikeContains(std::string_view needle) {
  std::string out = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

Status CheckQuery(const runtrack::RunQuery& q) {
  if (q.best_metric_min && q.best_metric_max && *q.best_metric_min > *q.best_metric_max)
    return Status::InvalidArgument("best_metric_min is greater than best_metric_max");
  if (q.created_after && q.created_before && *q.created_after > *q.created_before)
    return Status::InvalidArgument("created_after is later than created_before");
  return Status::Ok();
}

// ORDER BY for the whitelisted sort fields. Ties go to the smaller id either way; runs without a
// best value sort last either way (as the embedded catalog's RowOrder).
Result<std::string> OrderBy(const runtrack::RunQuery& q) {
  const char* dir = q.descending ? "DESC" : "ASC";
  if (q.sort_by == "created_at" || q.sort_by == "updated_at" || q.sort_by == "status")
    return fmt::format("{} {}, id ASC", q.sort_by, dir);
  if (q.sort_by == "best_metric_value") return fmt::format("best_metric_value {} NULLS LAST, id ASC", dir);
  return Status::InvalidArgument(fmt::format(
      "cannot sort by '{}': expected one of created_at, updated_at, best_metric_value, status", q.sort_by));
}

template <typename T>
Result<T> Number(std::string_view text, std::string_view column) {
  T v{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    // PostgreSQL spells non-finite float8 as Infinity / -Infinity / NaN.
    if constexpr (std::is_floating_point_v<T>) {
      if (text == "Infinity") return std::numeric_limits<T>::infinity();
      if (text == "-Infinity") return -std::numeric_limits<T>::infinity();
      if (text == "NaN") return std::numeric_limits<T>::quiet_NaN();
    }
    return Status::Corruption(fmt::format("runs.{}: not a number: '{}'", column, text));
  }
  return v;
}

}  // namespace

std::string RunSearchText(const runtrack::RunSummary& run) {
  std::string text = run.id + '\n' + run.project + '\n' + run.name;
  for (const std::string& tag : run.tags) text += '\n' + tag;
  return AsciiLower(text);
}

Result<PgStatement> BuildRunListing(const runtrack::RunQuery& q) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string order, OrderBy(q));
  RUNTRACK_RETURN_IF_ERROR(CheckQuery(q));
  PgStatement st;
  std::vector<std::string> where;
  auto param = [&st](std::string value) {
    st.params.push_back(std::move(value));
    return fmt::format("${}", st.params.size());
  };
  if (q.deleted_only) where.push_back("deleted_at IS NOT NULL");
  else if (!q.include_deleted) where.push_back("deleted_at IS NULL");
  if (!q.project.empty()) where.push_back("project = " + param(q.project));
  if (!q.name.empty()) where.push_back("name = " + param(q.name));
  if (!q.statuses.empty()) {
    std::vector<std::string> names;
    for (runtrack::RunStatus s : q.statuses) names.emplace_back(runtrack::RunStatusName(s));
    where.push_back(fmt::format("status = ANY({}::text[])", param(PgTextArray(names))));
  }
  if (!q.tags.empty()) where.push_back(fmt::format("tags @> {}::text[]", param(PgTextArray(q.tags))));
  if (!q.search.empty()) where.push_back("search_text LIKE " + param(LikeContains(AsciiLower(q.search))));
  if (q.created_after) where.push_back(fmt::format("created_at >= {}::float8", param(PgFloat(*q.created_after))));
  if (q.created_before) where.push_back(fmt::format("created_at <= {}::float8", param(PgFloat(*q.created_before))));
  if (q.best_metric_min)
    where.push_back(fmt::format("best_metric_value >= {}::float8", param(PgFloat(*q.best_metric_min))));
  if (q.best_metric_max)
    where.push_back(fmt::format("best_metric_value <= {}::float8", param(PgFloat(*q.best_metric_max))));

  std::string filter = where.empty() ? "true" : fmt::format("{}", fmt::join(where, " AND "));
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  std::string offset = param(std::to_string(std::min(q.offset, kMax)));
  st.params.push_back(q.limit == 0 ? std::nullopt : std::optional(std::to_string(std::min(q.limit, kMax))));
  std::string limit = fmt::format("${}", st.params.size());  // NULL = no limit
  // One statement, so the total and the page come from one snapshot.
  st.sql = fmt::format(
      "WITH page AS (SELECT {cols} FROM runs WHERE {filter} ORDER BY {order} LIMIT {limit}::bigint"
      " OFFSET {offset}::bigint) "
      "SELECT (SELECT count(*) FROM runs WHERE {filter}) AS total, page.* "
      "FROM (VALUES (0)) AS one(x) LEFT JOIN page ON true ORDER BY {order}",
      fmt::arg("cols", kRunSummaryColumns), fmt::arg("filter", filter), fmt::arg("order", order),
      fmt::arg("limit", limit), fmt::arg("offset", offset));
  return st;
}

Result<runtrack::RunSummary> RunSummaryFromRow(const PgResult& r, int row, int c) {
  runtrack::RunSummary s;
  s.id = r.Get(row, c + 0);
  s.project = r.Get(row, c + 1);
  s.name = r.Get(row, c + 2);
  RUNTRACK_ASSIGN_OR_RETURN(s.status, runtrack::ParseRunStatus(r.Get(row, c + 3)));
  s.exit_reason = r.Get(row, c + 4);
  RUNTRACK_ASSIGN_OR_RETURN(s.created_at, Number<double>(r.Get(row, c + 5), "created_at"));
  RUNTRACK_ASSIGN_OR_RETURN(s.updated_at, Number<double>(r.Get(row, c + 6), "updated_at"));
  if (!r.IsNull(row, c + 7)) { RUNTRACK_ASSIGN_OR_RETURN(s.ended_at, Number<double>(r.Get(row, c + 7), "ended_at")); }
  if (!r.IsNull(row, c + 8)) {
    RUNTRACK_ASSIGN_OR_RETURN(s.deleted_at, Number<double>(r.Get(row, c + 8), "deleted_at"));
  }
  RUNTRACK_ASSIGN_OR_RETURN(s.pid, Number<int64_t>(r.Get(row, c + 9), "pid"));
  s.hostname = r.Get(row, c + 10);
  boost::system::error_code ec;
  boost::json::value tags = runtrack::ParseJson(r.Get(row, c + 11), ec);
  if (ec || !tags.is_array()) return Status::Corruption(fmt::format("runs.tags of {} is not a list", s.id));
  for (const auto& t : tags.as_array()) {
    if (!t.is_string()) return Status::Corruption(fmt::format("runs.tags of {} holds a NULL", s.id));
    s.tags.emplace_back(t.as_string());
  }
  s.best_metric_name = r.Get(row, c + 12);
  s.best_metric_mode = r.Get(row, c + 13);
  if (!r.IsNull(row, c + 14)) {
    RUNTRACK_ASSIGN_OR_RETURN(s.best_metric_value, Number<double>(r.Get(row, c + 14), "best_metric_value"));
  }
  if (!r.IsNull(row, c + 15)) {
    RUNTRACK_ASSIGN_OR_RETURN(s.best_metric_step, Number<int64_t>(r.Get(row, c + 15), "best_metric_step"));
  }
  RUNTRACK_ASSIGN_OR_RETURN(s.artifacts_created_count, Number<int>(r.Get(row, c + 16), "artifacts_created_count"));
  RUNTRACK_ASSIGN_OR_RETURN(s.artifacts_used_count, Number<int>(r.Get(row, c + 17), "artifacts_used_count"));
  if (!r.IsNull(row, c + 18)) s.path = std::string(r.Get(row, c + 18));
  s.alias = r.Get(row, c + 19);
  return s;
}

}  // namespace runicorn::service::pg
