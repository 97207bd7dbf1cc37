#include "service/ingest_service.h"

#include <charconv>
#include <filesystem>

#include <fmt/format.h>

#include "runtrack/compacted_run.h"
#include "runtrack/validation.h"

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
  // Bytes that may have ended the run: a team back end seals and publishes it promptly.
  if (sealing_ && !raw.empty() && !out.gap) sealing_->Appended(run_id);
  return IngestAck{out.gap, out.offset};
}

Result<IngestState> IngestService::State(std::string_view run_id, std::string_view stream) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateJournalStream(stream));
  IngestState state;
  std::error_code ec;
  const auto path = layout_.stream_journal_path(run_id, stream);
  state.durable_offset = std::filesystem::file_size(path, ec);
  if (ec)
    return Status::NotFound(fmt::format("run {} has no journal stream {} on this server", run_id, stream));
  // A compacted journal (only stream "0" is ever compacted) answers offsets by its original length,
  // as the receiver does.
  if (stream == runtrack::kDefaultJournalStream) {
    RUNTRACK_ASSIGN_OR_RETURN(auto head, runtrack::ReadLocalCompactedHead(layout_, run_id));
    if (head) state.durable_offset = head->original_length;
  }
  if (!sealing_) return state;
  state.seal_required = true;
  auto seal = sealing_->State(run_id, stream);
  if (seal.ok()) state.seal = *seal;
  else if (seal.status().code() != runtrack::StatusCode::kNotFound) return seal.status();
  return state;  // not indexed here yet: neither final nor sealed
}

}  // namespace runicorn::service
