#include <algorithm>

#include <fmt/format.h>
#include <rocksdb/iterator.h>

#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "catalog/run_listing.h"
#include "catalog/stored_point.h"
#include "util/validation.h"

namespace runtrack {
using catalog::RunRecord;

namespace {

Status RunNotFound(std::string_view id) {
  return Status::NotFound(fmt::format("run {} not found", id));
}

// Sorts by step and keeps the later-logged point of each step. Stable sort keeps log order
// within one step.
void ResolveDuplicateSteps(std::vector<MetricPoint>* points) {
  std::stable_sort(points->begin(), points->end(),
                   [](const MetricPoint& a, const MetricPoint& b) { return a.step < b.step; });
  size_t out = 0;
  for (size_t i = 0; i < points->size(); ++i) {
    if (i + 1 < points->size() && (*points)[i + 1].step == (*points)[i].step) continue;
    (*points)[out++] = (*points)[i];
  }
  points->resize(out);
}

}  // namespace

// Stage ids share the journal's name-id space, so the table has gaps (filled with "").
std::vector<std::string> StageNames(const RunRecord& r) {
  uint32_t max_stage = r.stage_names.empty() ? 0 : r.stage_names.rbegin()->first;
  std::vector<std::string> names(max_stage + 1, "");
  for (const auto& [id, name] : r.stage_names) names[id] = name;
  return names;
}

Result<RunPage> Catalog::ListRuns(const RunQuery& query) const {
  RUNTRACK_RETURN_IF_ERROR(catalog::CheckRunQuery(query));
  const std::string needle = catalog::ToLower(query.search);
  std::shared_lock lock(impl_->mu);
  std::vector<const RunSummary*> rows;
  for (const auto& [id, record] : impl_->runs)
    if (catalog::MatchesRunQuery(record->summary_row, record->search_text, query, needle))
      rows.push_back(&record->summary_row);
  RunPage page;
  page.total = rows.size();
  for (const RunSummary* row : catalog::SortAndPage(std::move(rows), query)) page.runs.push_back(*row);
  return page;
}

Result<RunDetail> Catalog::GetRun(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<const RunRecord> r = impl_->Find(run_id);
  if (!r) return RunNotFound(run_id);
  RunDetail d;
  d.run = r->summary_row;
  d.config = r->config;
  d.summary = r->summary;
  d.log_bytes = r->log_bytes;
  d.artifacts_created = r->produced;
  d.artifacts_used = r->used;
  d.journal_corrupt = r->journal_corrupt;
  d.journal_corrupt_offset = r->journal_corrupt_offset;
  d.journal_skipped_bytes = r->journal_skipped_bytes;
  d.stages = StageNames(*r);
  for (const auto& [id, s] : r->series) {
    // A multi-process run lists each name once, with the first stream's figures (rank 0's).
    if (catalog::StreamOrdinalOf(id) != 0 && r->FindSeries(s.name) != &s) continue;
    MetricInfo m;
    m.name = s.name;
    m.count = s.count;
    m.non_finite_count = s.non_finite;
    m.first_step = s.first_step;
    m.last_step = s.last_step;
    m.min_step = s.min_step;
    m.max_step = s.max_step;
    if (s.has_finite()) {
      m.min = s.min;
      m.max = s.max;
    }
    m.last_value = s.last_value;
    if (s.count > 0) {
      d.min_step = std::min(d.min_step.value_or(s.min_step), s.min_step);
      d.max_step = std::max(d.max_step.value_or(s.max_step), s.max_step);
    }
    d.metrics.push_back(std::move(m));
  }
  std::sort(d.metrics.begin(), d.metrics.end(),
            [](const MetricInfo& a, const MetricInfo& b) { return a.name < b.name; });
  return d;
}

Result<MetricSeries> Catalog::ReadMetric(std::string_view run_id, std::string_view metric,
                                         std::optional<int64_t> step_min,
                                         std::optional<int64_t> step_max) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<const RunRecord> r = impl_->Find(run_id);
  if (!r) return RunNotFound(run_id);
  const catalog::SeriesState* s = r->FindSeries(metric);
  if (s == nullptr)
    return Status::NotFound(fmt::format("run {} has no metric '{}'", run_id,
                                        util::IsValidUtf8(metric) ? metric : "<binary>"));
  MetricSeries out;
  out.name = s->name;
  out.stages = StageNames(*r);

  // The published record's count bounds what we return, so points committed after the record
  // was published are cut off consistently (stored chunks or a sealed segment alike).
  RUNTRACK_RETURN_IF_ERROR(impl_->ReadOrdinals(run_id, s->id, 0, s->count, &out.points));

  if (!s->strictly_increasing) ResolveDuplicateSteps(&out.points);
  if (step_min || step_max) {
    int64_t lo = step_min.value_or(INT64_MIN), hi = step_max.value_or(INT64_MAX);
    auto first = std::lower_bound(out.points.begin(), out.points.end(), lo,
                                  [](const MetricPoint& p, int64_t v) { return p.step < v; });
    auto last = std::upper_bound(first, out.points.end(), hi,
                                 [](int64_t v, const MetricPoint& p) { return v < p.step; });
    out.points = std::vector<MetricPoint>(first, last);
  }
  return out;
}

Result<std::string> Catalog::ReadLog(std::string_view run_id, uint64_t offset) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<const RunRecord> r = impl_->Find(run_id);
  if (!r) return RunNotFound(run_id);
  std::string out;
  if (offset >= r->log_bytes) return out;
  std::string prefix = catalog::LogPrefix(run_id);
  std::string end = catalog::PrefixEnd(prefix);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    uint64_t start = catalog::ReadBigEndian(it->key().ToStringView(), prefix.size(), 8);
    std::string_view text = it->value().ToStringView();
    if (start >= r->log_bytes) break;  // written after the record we answer from
    if (start + text.size() <= offset) continue;
    size_t skip = offset > start ? offset - start : 0;
    out.append(text.substr(skip, r->log_bytes - start - skip));
  }
  RUNTRACK_RETURN_IF_ERROR(RocksStatus(it->status(), "read log"));
  return out;
}

}  // namespace runtrack
