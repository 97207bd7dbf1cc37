#include "service/ingest_service.h"

#include <charconv>

#include <fmt/format.h>

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

Result<IngestAck> IngestService::Ingest(std::string_view run_id, std::string_view stream,
                                        std::string_view offset_text, std::string_view body) {
  uint64_t offset = 0;
  auto [end, ec] = std::from_chars(offset_text.data(), offset_text.data() + offset_text.size(), offset);
  if (offset_text.empty() || ec != std::errc() || end != offset_text.data() + offset_text.size())
    return Status::InvalidArgument(
        fmt::format("Invalid query parameter 'offset': '{}' is not a non-negative integer", offset_text));
  std::string raw;
  if (!body.empty()) {
    RUNTRACK_ASSIGN_OR_RETURN(raw, runtrack::DecompressIngestBody(body, kMaxRawBytes));
  }
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::IngestOutcome out, receiver_.Append(run_id, stream, offset, raw));
  return IngestAck{out.gap, out.offset};
}

}  // namespace runicorn::service
