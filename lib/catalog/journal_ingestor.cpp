#include "util/json.h"
#include "catalog/journal_ingestor.h"

#include <chrono>
#include <filesystem>

#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "catalog/keys.h"
#include "catalog/sealed_series.h"
#include "journal/journal_compaction.h"
#include "catalog/stored_point.h"

namespace runtrack::catalog {
namespace json = boost::json;
using journal::RecordType;

void JournalIngestor::Touch(double wall_time) {
  record_->summary_row.updated_at = std::max(record_->summary_row.updated_at, wall_time);
}

Status JournalIngestor::Apply(RecordType type, std::string_view payload) {
  if (stream_ != nullptr && type != RecordType::kPoints) return ApplyOtherStream(type, payload);
  if (type == journal::kCompactedRecord && stream_ == nullptr) return ApplyCompacted(payload);
  switch (type) {
    case RecordType::kPoints:
      return ApplyPoints(payload);
    case RecordType::kName: {
      if (payload.size() < 5) { ++skipped_; return Status::Ok(); }
      uint32_t id = journal::GetU32(payload.data());
      auto kind = static_cast<journal::NameKind>(payload[4]);
      std::string name(payload.substr(5));
      if (kind == journal::NameKind::kStage) {
        record_->stage_names[id] = std::move(name);
      } else {
        SeriesState& s = record_->series[id];
        s.id = id;
        s.name = std::move(name);
        // A new series has no stored chunk yet (one a Compacted record filled keeps its tail).
        if (s.count == 0) s.tail_loaded = true;
      }
      return Status::Ok();
    }
    case RecordType::kText:
      new_text_.append(payload);
      return Status::Ok();
    case RecordType::kRunStart:
    case RecordType::kSummary:
    case RecordType::kPrimaryMetric:
    case RecordType::kStatus:
    case RecordType::kArtifact:
      ApplyJson(type, payload);
      return Status::Ok();
  }
  ++skipped_;  // a record type from a newer writer: keep going
  return Status::Ok();
}

Status JournalIngestor::ApplyPoints(std::string_view payload) {
  size_t n = payload.size() / sizeof(journal::PackedPoint);
  SeriesState* series = nullptr;
  std::vector<MetricPoint>* fresh = nullptr;
  for (size_t i = 0; i < n; ++i) {
    journal::PackedPoint packed;
    std::memcpy(&packed, payload.data() + i * sizeof packed, sizeof packed);
    if (stream_ != nullptr && !MapStreamPoint(&packed)) { ++skipped_; continue; }
    if (series == nullptr || series->id != packed.metric_id) {
      auto it = record_->series.find(packed.metric_id);
      if (it == record_->series.end()) { ++skipped_; continue; }  // name record missing: corrupt
      series = &it->second;
      if (!series->tail_loaded) RUNTRACK_RETURN_IF_ERROR(load_tail_(*series));
      touched_series_.insert(series->id);
      fresh = &new_points_[series->id];
    }
    MetricPoint p{packed.step, packed.wall_time, packed.value, packed.stage_id};
    series->Add(p);
    series->tail.push_back(p);
    fresh->push_back(p);
    if (series->tail.size() == kChunkPoints) {
      uint32_t chunk = static_cast<uint32_t>((series->count - 1) / kChunkPoints);
      batch_->Put(ChunkKey(record_->summary_row.id, series->id, chunk), EncodeChunk(series->tail));
      series->tail.clear();
    }
    ++points_;
  }
  if (n > 0) {
    journal::PackedPoint last;
    std::memcpy(&last, payload.data() + (n - 1) * sizeof last, sizeof last);
    Touch(last.wall_time);
  }
  return Status::Ok();
}

void JournalIngestor::ApplyJson(RecordType type, std::string_view payload) {
  boost::system::error_code ec;
  json::value parsed = runtrack::ParseJson(payload, ec);
  if (ec || !parsed.is_object()) {
    ++skipped_;
    return;
  }
  const json::object& o = parsed.get_object();
  RunSummary& row = record_->summary_row;
  auto str = [&](std::string_view key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : "";
  };
  auto num = [&](std::string_view key) -> std::optional<double> {
    auto it = o.find(key);
    if (it == o.end() || !it->value().is_number()) return std::nullopt;
    return it->value().to_number<double>();
  };
  switch (type) {
    case RecordType::kRunStart: {
      record_->has_start = true;
      row.project = str("project");
      row.name = str("name");
      row.created_at = num("created_at").value_or(0);
      row.pid = static_cast<int64_t>(num("pid").value_or(0));
      row.hostname = str("hostname");
      if (auto it = o.find("path"); it != o.end() && it->value().is_string())
        row.path = std::string(it->value().get_string());
      row.alias = str("alias");
      row.tags.clear();
      if (auto it = o.find("tags"); it != o.end() && it->value().is_array())
        for (const auto& t : it->value().get_array())
          if (t.is_string()) row.tags.emplace_back(t.get_string());
      if (auto it = o.find("config"); it != o.end() && it->value().is_object())
        record_->config = it->value().get_object();
      Touch(row.created_at);
      break;
    }
    case RecordType::kSummary:
      for (const auto& [k, v] : o) record_->summary[k] = v;
      break;
    case RecordType::kPrimaryMetric: {
      auto mode = ParseMetricMode(str("mode"));
      record_->primary_metric = str("name");
      record_->primary_mode = mode.ok() ? *mode : MetricMode::kMax;
      break;
    }
    case RecordType::kStatus: {
      auto status = ParseRunStatus(str("status"));
      if (!status.ok()) { ++skipped_; return; }
      row.status = *status;
      row.exit_reason = str("exit_reason");
      row.ended_at = num("ended_at");
      if (row.ended_at) Touch(*row.ended_at);
      break;
    }
    case RecordType::kArtifact: {
      ArtifactRef ref{str("name"), str("type"), static_cast<int>(num("version").value_or(0))};
      bool produced = str("relation") == "produced";
      (produced ? record_->produced : record_->used).push_back(std::move(ref));
      row.artifacts_created_count = static_cast<int>(record_->produced.size());
      row.artifacts_used_count = static_cast<int>(record_->used.size());
      break;
    }
    default:
      break;
  }
}

bool JournalIngestor::NoteDamage(const journal::ReadOutcome& outcome) {
  if (!outcome.corrupt) return false;
  bool news = !record_->journal_corrupt;
  record_->journal_corrupt = true;
  if (!record_->journal_corrupt_offset) record_->journal_corrupt_offset = outcome.corrupt_offset;
  record_->journal_skipped_bytes += outcome.skipped_bytes;
  return news;
}

void MarkJournalUnreadable(RunRecord* record, const std::filesystem::path& journal, const Status& error) {
  std::string why = error.message();
  std::string prefix = journal.string() + ": ";  // the reader names the file first
  if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
  RunSummary& row = record->summary_row;
  row.status = RunStatus::kFailed;
  row.exit_reason = "journal_unreadable: " + why;
  std::error_code ec;
  auto modified = std::filesystem::last_write_time(journal, ec);
  if (!ec) {
    auto since_epoch = std::chrono::file_clock::to_sys(modified).time_since_epoch();
    double at = std::chrono::duration<double>(since_epoch).count();
    if (row.created_at == 0) row.created_at = at;
    row.updated_at = std::max(row.updated_at, at);
  }
  row.ended_at = row.updated_at;
  record->journal_corrupt = true;
  record->journal_corrupt_offset = 0;
}

Status JournalIngestor::Finish(uint64_t journal_offset) {
  const std::string& id = record_->summary_row.id;
  for (uint32_t sid : touched_series_) {
    SeriesState& s = record_->series[sid];
    if (s.tail.empty()) continue;
    uint32_t chunk = static_cast<uint32_t>((s.count - 1) / kChunkPoints);
    batch_->Put(ChunkKey(id, sid, chunk), EncodeChunk(s.tail));
  }
  if (!new_text_.empty()) {
    batch_->Put(LogKey(id, record_->log_bytes), new_text_);
    record_->log_bytes += new_text_.size();
    new_text_.clear();
  }
  record_->UpdateBest();
  record_->journal_offset = journal_offset;
  batch_->Put(RunKey(id), util::SerializeJson(ToJson(*record_)));
  return Status::Ok();
}

}  // namespace runtrack::catalog
