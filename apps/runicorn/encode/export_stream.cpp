#include "encode/export_stream.h"

#include "encode/api_json.h"

namespace runicorn::encode {

runtrack::Result<std::unique_ptr<ExportStream>> ExportStream::Start(
    const service::Services& services, const std::string& run_id, service::MetricTableQuery query, Format format,
    double exported_at, const service::MetricReadProgress& progress, uint64_t page_rows) {
  service::MetricPager pager(services.metrics, run_id, std::move(query), page_rows);
  RUNTRACK_ASSIGN_OR_RETURN(std::optional<service::MetricTable> first, pager.Next(progress));
  std::unique_ptr<ExportStream> stream(new ExportStream(std::move(pager), format));
  if (format == Format::kJson) {
    RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunDetail detail, services.runs.Get(run_id));
    stream->head_ = ExportJsonHead(detail, *first, services.layout, exported_at);
  } else {
    stream->head_ = ExportCsvHeader(*first);
  }
  stream->AppendRows(*first, stream->head_);
  return stream;
}

void ExportStream::AppendRows(const service::MetricTable& page, std::string& out) {
  if (format_ == Format::kJson) AppendExportJsonRows(page, rows_encoded_ == 0, out);
  else AppendExportCsvRows(page, out);
  rows_encoded_ += page.rows.steps.size();
}

runtrack::Result<bool> ExportStream::Next(std::string& out) {
  if (!head_sent_) {
    head_sent_ = true;
    out += head_;
    head_.clear();
    head_.shrink_to_fit();
    rows_written_ = rows_encoded_;
    return true;
  }
  if (done_) return false;
  RUNTRACK_ASSIGN_OR_RETURN(std::optional<service::MetricTable> page, pager_.Next());
  if (!page) {
    done_ = true;
    if (format_ == Format::kJson) out += kExportJsonTail;
    return format_ == Format::kJson;
  }
  AppendRows(*page, out);
  rows_written_ = rows_encoded_;
  return true;
}

}  // namespace runicorn::encode
