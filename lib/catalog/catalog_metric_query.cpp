// Catalog::QueryMetrics: several metrics of one run joined on step, from one ingest pass.
//
// Consistency: an ingest pass commits its points, extends the pyramids and publishes the run
// record under lod_mu held exclusively. The query holds lod_mu shared from reading the record to
// the last metric's points, so the record, the metric list and every series it reads belong to the
// same pass. Pyramids missing for a series are built first under the exclusive lock, then the
// query starts over under the shared one (a pyramid is only ever dropped with its run).
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <shared_mutex>

#include <fmt/format.h>

#include "catalog/catalog_impl.h"
#include "catalog/metric_table_assembly.h"
#include "runtrack/validation.h"

namespace runtrack {
using catalog::RunRecord;
using catalog::SeriesState;

namespace {

// The run's series named by the query, in column order; names the run lacks go to *missing.
std::vector<const SeriesState*> ResolveSeries(const RunRecord& record, const MetricQuery& query,
                                              std::vector<std::string>* missing) {
  std::vector<const SeriesState*> out;
  if (query.metrics.empty()) {
    for (const auto& [id, s] : record.series)
      if (catalog::StreamOrdinalOf(id) == 0 || record.FindSeries(s.name) == &s)
        out.push_back(&s);  // one column per name (a multi-process run's streams: REMOTE.md)
    std::sort(out.begin(), out.end(), [](const SeriesState* a, const SeriesState* b) { return a->name < b->name; });
    return out;
  }
  for (const std::string& name : query.metrics) {
    const SeriesState* s = record.FindSeries(name);
    if (s == nullptr) {
      if (std::find(missing->begin(), missing->end(), name) == missing->end()) missing->push_back(name);
    } else if (std::find(out.begin(), out.end(), s) == out.end()) {
      out.push_back(s);
    }
  }
  return out;
}

}  // namespace

Result<MetricTable> Catalog::QueryMetrics(std::string_view run_id, const MetricQuery& query,
                                          const MetricReadProgress& progress) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(catalog::CheckMetricQuery(query));
  const std::string id(run_id);

  // Each attempt either answers or builds the pyramids it lacked; a second attempt finds them all
  // unless the run was deleted and re-indexed in between, hence the small bound.
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::vector<uint32_t> unbuilt;
    std::vector<std::pair<const LodPyramid*, Status>> broken;  // pyramids whose blocks failed to load
    {
      std::shared_lock lod(impl_->lod_mu);
      std::shared_ptr<const RunRecord> record = impl_->Find(run_id);
      if (!record) return Status::NotFound(fmt::format("run {} not found", run_id));
      MetricTable table;
      std::vector<catalog::TableSeries> series;
      for (const SeriesState* s : ResolveSeries(*record, query, &table.missing_metrics)) {
        auto it = impl_->pyramids.find({id, s->id});
        if (it == impl_->pyramids.end()) {
          impl_->pyramid_misses.fetch_add(1, std::memory_order_relaxed);
          unbuilt.push_back(s->id);
          continue;
        }
        impl_->pyramid_hits.fetch_add(1, std::memory_order_relaxed);
        if (it->second->count() != s->count)
          return Status::Internal(fmt::format("pyramid of {}/{} covers {} points, the record {}", id, s->name,
                                              it->second->count(), s->count));
        impl_->TouchPyramid({id, s->id});  // LRU: this pyramid was used
        const uint32_t series_id = s->id;
        series.push_back({s->name, it->second.get(), [this, &id, series_id](uint64_t b, uint64_t e,
                                                                            std::vector<MetricPoint>* out) {
                            return impl_->ReadOrdinals(id, series_id, b, e, out);
                          }});
      }
      if (unbuilt.empty()) {
        Status assembled = catalog::AssembleMetricTable(series, StageNames(*record), query, progress, &table);
        // A LOD block that could be neither read nor rebuilt from the segment (damaged there too)
        // made the answer wrong: it must not be returned, nor the pyramid kept (below).
        for (const catalog::TableSeries& s : series)
          if (Status damage = s.pyramid->load_status(); !damage.ok()) broken.emplace_back(s.pyramid, damage);
        if (broken.empty()) {
          RUNTRACK_RETURN_IF_ERROR(assembled);
          return table;
        }
      }
    }
    if (!broken.empty()) {
      // Dropped, so the next query starts from the LOD object again: charts from intact blocks work.
      std::unique_lock lod(impl_->lod_mu);
      std::erase_if(impl_->pyramids, [&](const auto& entry) {
        return entry.first.first == id && std::any_of(broken.begin(), broken.end(), [&](const auto& b) {
                 return b.first == entry.second.get();
               });
      });
      return broken.front().second;
    }
    std::unique_lock lod(impl_->lod_mu);
    for (uint32_t series_id : unbuilt) {
      Status s = impl_->BuildPyramid(id, series_id);
      if (s.code() == StatusCode::kNotFound) break;  // deleted meanwhile: the next attempt reports it
      RUNTRACK_RETURN_IF_ERROR(s);
    }
  }
  return Status::Internal(fmt::format("pyramids of run {} kept vanishing while querying it", run_id));
}

}  // namespace runtrack
