#include "catalog/catalog_streams.h"

#include <algorithm>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <rocksdb/db.h>

#include "catalog/catalog_impl.h"
#include "catalog/keys.h"
#include "catalog/stored_point.h"
#include "journal/journal_reader.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"
#include "util/files.h"
#include "util/validation.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace catalog {
using journal::RecordType;

Status JournalIngestor::ApplyOtherStream(RecordType type, std::string_view payload) {
  const uint32_t base = stream_->ordinal * kStreamSeriesBase;
  switch (type) {
    case RecordType::kName: {
      if (payload.size() < 5) { ++skipped_; return Status::Ok(); }
      uint32_t id = journal::GetU32(payload.data());
      auto kind = static_cast<journal::NameKind>(payload[4]);
      std::string name(payload.substr(5));
      if (kind == journal::NameKind::kStage) {
        stream_->stages[id] = std::move(name);
        return Status::Ok();
      }
      if (id >= kStreamSeriesBase) { ++skipped_; return Status::Ok(); }
      SeriesState& s = record_->series[base + id];
      s.id = base + id;
      s.name = std::move(name);
      s.tail_loaded = true;  // a new series has no stored chunk yet
      return Status::Ok();
    }
    case RecordType::kText:
      new_text_.append(payload);
      return Status::Ok();
    case RecordType::kStatus:
      stream_->ended = true;  // its process finished; the run's status is rank 0's
      return Status::Ok();
    default:
      return Status::Ok();  // start, summary, primary metric, artifacts: rank 0 owns them
  }
}

bool JournalIngestor::MapStreamPoint(journal::PackedPoint* p) const {
  if (p->metric_id >= kStreamSeriesBase) return false;
  p->metric_id += stream_->ordinal * kStreamSeriesBase;
  if (p->stage_id != 0) {
    // Stages are matched by name with the run's (rank 0's) stage table; a stage rank 0 has not
    // named (yet) is recorded as no stage.
    uint32_t global = 0;
    if (auto it = stream_->stages.find(p->stage_id); it != stream_->stages.end())
      for (const auto& [id, name] : record_->stage_names)
        if (name == it->second) {
          global = id;
          break;
        }
    p->stage_id = global;
  }
  return true;
}

namespace {

// Names of the other streams with a journal in the run's folder.
std::vector<std::string> OtherStreamsOnDisk(const StoreLayout& layout, std::string_view run_id) {
  std::vector<std::string> out;
  const std::string prefix(StoreLayout::journal_stream_prefix());
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(layout.run_dir(run_id), ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    name.erase(0, prefix.size());
    if (name != kDefaultJournalStream && ValidateJournalStream(name).ok()) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<bool> IngestOtherStreams(const StoreLayout& layout, std::string_view run_id, RunRecord* record,
                                JournalIngestor* ingestor, uint64_t max_bytes, bool* more) {
  *more = false;
  bool moved = false;
  std::error_code marker_ec;
  if (!record->remote && fs::exists(layout.receiving_marker(run_id), marker_ec)) {
    record->remote = true;
    moved = true;
  }
  for (const std::string& name : OtherStreamsOnDisk(layout, run_id)) {
    auto it = record->streams.find(name);
    if (it == record->streams.end()) {
      uint32_t ordinal = 1;
      for (const auto& [n, st] : record->streams) ordinal = std::max(ordinal, st.ordinal + 1);
      if (ordinal > kMaxStreamOrdinal) continue;  // more processes than series ids can tell apart
      it = record->streams.emplace(name, StreamState{}).first;
      it->second.ordinal = ordinal;
      moved = true;
    }
    StreamState& st = it->second;
    const uint64_t from = st.offset;
    ingestor->SetStream(&st);
    auto outcome = journal::ReadJournal(
        layout.stream_journal_path(run_id, name), from,
        [&](RecordType type, std::string_view payload) { return ingestor->Apply(type, payload); }, max_bytes);
    ingestor->SetStream(nullptr);
    if (!outcome.ok()) {
      if (outcome.status().code() == StatusCode::kCorruption && from == 0) continue;
      return outcome.status();
    }
    if (outcome->next_offset != from) {
      st.offset = outcome->next_offset;
      moved = true;
      *more = *more || !outcome->torn_tail;
    }
  }
  return moved;
}

bool StreamsPending(const StoreLayout& layout, const RunRecord& record) {
  // A remote run judged dead after its lease (REMOTE.md) whose writer came back: the viewer
  // receives it again, so its new records are read (its final Status record then ends it).
  std::error_code ec;
  if (record.summary_row.exit_reason == "process_not_found") {
    uint64_t size = fs::file_size(layout.journal_path(record.summary_row.id), ec);
    if (!ec && size > record.journal_offset) return true;  // (a torn tail costs one small read a pass)
  }
  if (record.streams.empty() && !record.remote) return false;
  // A shipped run that ended less than an hour ago (by its writer's clock) may still be joined by
  // a late rank while the viewer lingers on it (ReceiverOptions::linger); older ones cost nothing.
  const bool recent = util::NowSeconds() - record.summary_row.updated_at < 3600;
  if ((recent || !record.streams.empty()) && fs::exists(layout.receiving_marker(record.summary_row.id), ec))
    return true;
  for (const auto& [name, st] : record.streams) {
    uint64_t size = fs::file_size(layout.stream_journal_path(record.summary_row.id, name), ec);
    if (!ec && size > st.offset) return true;
  }
  // A stream that appeared after the run ended is found by listing the folder only while the
  // viewer receives (above): see docs/REMOTE.md "Streams".
  return false;
}

}  // namespace catalog

Result<std::vector<RunStreamInfo>> Catalog::ListStreams(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<const catalog::RunRecord> r = impl_->Find(run_id);
  if (!r) return Status::NotFound(fmt::format("run {} not found", run_id));
  std::vector<RunStreamInfo> out(1);
  out[0].stream = std::string(kDefaultJournalStream);
  out[0].ended = r->summary_row.status != RunStatus::kRunning;
  for (const auto& [name, st] : r->streams) out.push_back({name, st.ended, 0});
  for (const auto& [id, s] : r->series) {
    uint32_t ordinal = catalog::StreamOrdinalOf(id);
    if (ordinal == 0) {
      out[0].points += s.count;
      continue;
    }
    for (size_t i = 1; i < out.size(); ++i)
      if (r->streams.at(out[i].stream).ordinal == ordinal) out[i].points += s.count;
  }
  return out;
}

Result<std::vector<StreamPoints>> Catalog::ReadMetricStreams(std::string_view run_id, std::string_view metric) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  std::shared_ptr<const catalog::RunRecord> r = impl_->Find(run_id);
  if (!r) return Status::NotFound(fmt::format("run {} not found", run_id));
  std::map<uint32_t, std::string> names{{0, std::string(kDefaultJournalStream)}};
  for (const auto& [name, st] : r->streams) names[st.ordinal] = name;
  std::vector<StreamPoints> out;
  for (const auto& [id, s] : r->series) {
    if (s.name != metric) continue;
    StreamPoints sp;
    sp.stream = names.count(catalog::StreamOrdinalOf(id)) ? names[catalog::StreamOrdinalOf(id)] : "?";
    // Bounded by the published record's count, as ReadMetric: later commits are cut off.
    RUNTRACK_RETURN_IF_ERROR(impl_->ReadOrdinals(run_id, s.id, 0, s.count, &sp.points));
    out.push_back(std::move(sp));
  }
  // "0" first, then by name (the ordinals follow discovery order).
  std::stable_sort(out.begin(), out.end(), [](const StreamPoints& a, const StreamPoints& b) {
    const bool a0 = a.stream == kDefaultJournalStream, b0 = b.stream == kDefaultJournalStream;
    return a0 != b0 ? a0 : a.stream < b.stream;
  });
  if (out.empty())
    return Status::NotFound(fmt::format("run {} has no metric '{}'", run_id,
                                        util::IsValidUtf8(metric) ? metric : "<binary>"));
  return out;
}

}  // namespace runtrack
