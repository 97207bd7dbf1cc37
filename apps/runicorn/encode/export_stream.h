// An export (CSV or JSON) produced in pieces from a MetricPager, one page of rows per piece: what
// GET /api/export/{id}/csv|json streams and what `runicorn export` writes, byte for byte the
// same. Memory is one page, whatever the run's length.
//
// Thread safety: one stream per export, used from one thread at a time; the services must
// outlive it.
#pragma once

#include <memory>
#include <string>

#include "runtrack/status.h"
#include "service/metric_pager.h"
#include "service/services.h"

namespace runicorn::encode {

class ExportStream {
 public:
  enum class Format { kCsv, kJson };

  // Reads the first page (and for JSON the run's detail) before anything is produced, so an
  // unknown run or a bad query is an error here, not a response cut short. `progress` sees the
  // first page's reading of each metric.
  static runtrack::Result<std::unique_ptr<ExportStream>> Start(
      const service::Services& services, const std::string& run_id, service::MetricTableQuery query, Format format,
      double exported_at, const service::MetricReadProgress& progress = {},
      uint64_t page_rows = service::MetricPager::kDefaultPageRows);

  // Appends the next piece to `out`; false, appending nothing, once the export is complete. An
  // error mid-way (the run deleted meanwhile, a damaged journal) ends the export.
  runtrack::Result<bool> Next(std::string& out);

  // Rows in the pieces Next() has returned so far.
  uint64_t rows_written() const { return rows_written_; }
  uint64_t total_rows() const { return pager_.total_rows(); }

 private:
  ExportStream(service::MetricPager pager, Format format) : pager_(std::move(pager)), format_(format) {}
  void AppendRows(const service::MetricTable& page, std::string& out);

  service::MetricPager pager_;
  Format format_;
  std::string head_;  // the first piece: header (+ first page's rows, appended at once)
  bool head_sent_ = false;
  bool done_ = false;
  uint64_t rows_encoded_ = 0;  // rows_written_ plus the head's rows until it is returned
  uint64_t rows_written_ = 0;
};

}  // namespace runicorn::encode
