// InstallSealedObject and InstallRunFromSealedObjects (include/runtrack/store_install.h): a finished run
// rebuilt in a store from its sealed objects, so the catalog indexes it as if this store had
// sealed and compacted it (docs/FORMATS.md "Compacted journal", lib/catalog/compacted_ingest.cpp).
#include <cstring>
#include <filesystem>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "catalog/sealed_series.h"
#include "journal/journal_compaction.h"
#include "journal/journal_format.h"
#include "runtrack/store_install.h"
#include "runtrack/validation.h"
#include "util/files.h"
#include "util/json.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace json = boost::json;
using journal::RecordType;

namespace {

fs::path ObjectPath(const StoreLayout& layout, const SealedObjectRef& ref, SealedObjectKind kind) {
  return kind == SealedObjectKind::kSegment ? layout.segment_path(ref.run_id, ref.series, ref.point_count)
                                            : layout.lod_path(ref.run_id, ref.series, ref.point_count);
}

// The records a writer logs besides points, in its order: start, primary metric, summary,
// artifacts, status (Store::CreateRun, Run::SetPrimaryMetric, Run::Summary, Run::RecordArtifact,
// Run::Finish). Every value comes from `r`, so indexing them gives `r`'s row back.
void AppendRunRecords(const InstalledRun& r, std::string* out) {
  const RunSummary& row = r.run;
  json::array tags;
  for (const std::string& t : row.tags) tags.emplace_back(t);
  json::object start{{"id", row.id},
                     {"project", row.project},
                     {"name", row.name},
                     {"created_at", row.created_at},
                     {"config", r.config},
                     {"tags", std::move(tags)},
                     {"pid", row.pid},
                     {"hostname", row.hostname}};
  if (row.path) start["path"] = *row.path;
  if (!row.alias.empty()) start["alias"] = row.alias;
  journal::AppendRecord(out, RecordType::kRunStart, util::SerializeJson(start));
  if (!row.best_metric_name.empty())
    journal::AppendRecord(out, RecordType::kPrimaryMetric,
                          util::SerializeJson(json::object{{"name", row.best_metric_name},
                                                           {"mode", row.best_metric_mode}}));
  if (!r.summary.empty()) journal::AppendRecord(out, RecordType::kSummary, util::SerializeJson(r.summary));
  for (const auto* refs : {&r.artifacts_created, &r.artifacts_used})
    for (const ArtifactRef& a : *refs)
      journal::AppendRecord(out, RecordType::kArtifact,
                            util::SerializeJson(json::object{{"relation", refs == &r.artifacts_created ? "produced" : "used"},
                                                             {"name", a.name},
                                                             {"type", a.type},
                                                             {"version", a.version}}));
  json::object status{{"status", RunStatusName(row.status)}};
  if (row.ended_at) status["ended_at"] = *row.ended_at;
  if (!row.exit_reason.empty()) status["exit_reason"] = row.exit_reason;
  journal::AppendRecord(out, RecordType::kStatus, util::SerializeJson(status));
}

}  // namespace

Result<bool> InstallSealedObject(const StoreLayout& layout, const SealedObjectRef& ref, SealedObjectKind kind,
                                 std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(ref.run_id));
  RUNTRACK_RETURN_IF_ERROR(VerifySealedObject(ref, kind, bytes));
  const fs::path path = ObjectPath(layout, ref, kind);
  std::error_code ec;
  if (fs::file_size(path, ec) == bytes.size() && !ec) {
    auto present = util::ReadFile(path);
    if (present.ok() && *present == bytes) return false;
  }
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.segments_dir(ref.run_id)));
  RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(path, bytes));
  return true;
}

Result<bool> InstallRunFromSealedObjects(const StoreLayout& layout, const InstalledRun& r,
                                 const std::vector<SealedObjectRef>& series) {
  const std::string& id = r.run.id;
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(id));
  if (r.run.status == RunStatus::kRunning)
    return Status::FailedPrecondition(
        fmt::format("run {} is still running: its newest points are not in sealed segments yet", id));
  std::error_code ec;
  if (fs::exists(layout.journal_path(id), ec)) return false;

  // Each series' segment must be here and match its ref before the journal names it: a compacted
  // journal is the only thing that says where the points are.
  journal::CompactionMarker marker;
  std::map<uint32_t, std::string> stage_names;
  catalog::SegmentReaderCache readers;
  for (const SealedObjectRef& ref : series) {
    if (ref.run_id != id)
      return Status::InvalidArgument(fmt::format("segment of run {} given for run {}", ref.run_id, id));
    catalog::SealedSegment entry;
    entry.point_count = ref.point_count;
    entry.file_size = ref.segment_size;
    entry.footer_crc32c = ref.footer_crc32c;
    entry.lod_size = ref.lod_size;
    RUNTRACK_ASSIGN_OR_RETURN(auto reader, readers.Get(layout, id, ref.series, entry));
    if (ref.lod_size > 0) {
      auto lod_size = fs::file_size(ObjectPath(layout, ref, SealedObjectKind::kLod), ec);
      if (ec || lod_size != ref.lod_size)
        return Status::FailedPrecondition(fmt::format("run {}: LOD object of series {} is not installed", id, ref.series));
    }
    // Stage ids share the journal's name-id space; the segment's dictionary is indexed by them.
    const std::vector<std::string>& stages = reader->info().stages;
    for (uint32_t s = 1; s < stages.size(); ++s)
      if (!stages[s].empty()) stage_names.emplace(s, stages[s]);
    marker.series.push_back({ref.series, ref.point_count, ref.segment_size, ref.footer_crc32c, ref.lod_size});
    marker.points += ref.point_count;
  }
  // What indexing the points would have added to updated_at; the row's own value reproduces it.
  marker.points_updated_at = r.run.updated_at;

  std::string rest;
  for (const auto& [sid, name] : stage_names)
    journal::AppendRecord(&rest, RecordType::kName, journal::EncodeName(sid, journal::NameKind::kStage, name));
  AppendRunRecords(r, &rest);
  // The marker's size does not depend on its values: encode once to learn the length.
  std::string probe;
  journal::AppendRecord(&probe, journal::kCompactedRecord, journal::EncodeCompactionMarker(marker));
  marker.compacted_length = journal::kHeaderSize + probe.size() + rest.size();
  // Nothing was removed on this disk: the journal is as long as it was written.
  marker.original_length = marker.compacted_length;
  std::string file = journal::EncodeHeader();
  journal::AppendRecord(&file, journal::kCompactedRecord, journal::EncodeCompactionMarker(marker));
  file += rest;

  if (r.run.deleted_at) {
    // The shortest text that reads back as the same double: the row's time, not a rounding of it.
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.run_dir(id)));
    RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(layout.deleted_marker(id), fmt::format("{}\n", *r.run.deleted_at)));
  }
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.run_dir(id)));
  RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(layout.compacting_journal_path(id), file));
  RUNTRACK_RETURN_IF_ERROR(journal::PublishCompactedJournal(layout.compacting_journal_path(id), layout.journal_path(id)));
  return true;
}

}  // namespace runtrack
