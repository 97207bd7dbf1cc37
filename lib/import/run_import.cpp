#include "import/run_import.h"

#include <sys/stat.h>

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "import/events_import.h"
#include "import/imported_run_writer.h"
#include "util/files.h"
#include "import/runicorn_json.h"
#include "util/json.h"
#include "util/validation.h"
#include "runtrack/validation.h"

namespace runtrack::importer {
namespace json = boost::json;
using journal::RecordType;

namespace {

// The source files copied verbatim into <run>/runicorn/ so nothing of the original run is lost,
// including members our records have no place for (meta.json's python, platform, alias, ...).
constexpr const char* kVerbatimFiles[] = {"meta.json",        "status.json",           "summary.json",
                                          "environment.json", "assets.json",           ".deleted",
                                          "artifacts_created.json", "artifacts_used.json"};
// The name of our media index (bindings/python/runicorn/media.py); a source file of that name
// would clash with it.
constexpr const char* kMediaIndex = "images.jsonl";

double MTime(const fs::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
}

bool IsSafeMediaName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' || name == kMediaIndex) return false;
  if (!util::IsValidUtf8(name)) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F || c == '/' || c == '\\') return false;
  return true;
}

std::vector<ArtifactLink> ReadLinks(const std::optional<json::object>& file, const std::string& item,
                                    const SkipLog& log) {
  std::vector<ArtifactLink> out;
  if (!file) return out;
  auto* list = file->if_contains("artifacts");
  if (list == nullptr || !list->is_array()) {
    log.Add(item, "no \"artifacts\" list, lineage records skipped");
    return out;
  }
  for (const auto& entry : list->get_array()) {
    if (!entry.is_object()) continue;
    const json::object& o = entry.get_object();
    ArtifactLink link{StringMember(o, "name"), StringMember(o, "type"), 0};
    auto v = NumberMember(o, "version");
    if (v && *v >= 1 && *v < 1e9 && *v == std::floor(*v)) link.version = static_cast<int>(*v);
    if (link.version == 0 || !util::CheckLabel("artifact name", link.name).ok() ||
        !util::CheckLabel("artifact type", link.type).ok()) {
      log.Add(item, "lineage record skipped: " + util::SerializeJson(o));
      continue;
    }
    out.push_back(std::move(link));
  }
  return out;
}

class RunImporter {
 public:
  RunImporter(const SourceRunDir& source, const StoreLayout& layout, bool dry_run, const SkipLog& log)
      : src_(source), layout_(layout), dry_run_(dry_run), log_(log) {}

  Result<ImportedRun> Import(RunLinks* links, const RunLinks& asset_links) {
    result_.run_id = src_.id;
    result_.source = src_.rel;
    ReadSmallFiles();
    if (!dry_run_) {
      RUNTRACK_ASSIGN_OR_RETURN(writer_, ImportedRunWriter::Create(layout_, src_.id));
    }
    RUNTRACK_RETURN_IF_ERROR(Add(RecordType::kRunStart, RunStart()));
    RUNTRACK_ASSIGN_OR_RETURN(EventsSummary events, ReadEvents(src_.dir / "events.jsonl", Item("events.jsonl"), log_,
        [&](std::string_view metric, std::string_view stage, int64_t step, double wall, double value) {
          return writer_ ? writer_->AddPoint(metric, stage, step, wall, value) : Status::Ok();
        }));
    result_.points = events.points;
    RUNTRACK_RETURN_IF_ERROR(AddSummary());
    RUNTRACK_RETURN_IF_ERROR(AddLogs());
    links->produced = ReadLinks(created_, Item("artifacts_created.json"), log_);
    links->used = ReadLinks(used_, Item("artifacts_used.json"), log_);
    for (const RunLinks* source : {static_cast<const RunLinks*>(links), &asset_links}) {
      for (bool produced : {true, false}) {
        for (const ArtifactLink& l : produced ? source->produced : source->used) {
          RUNTRACK_RETURN_IF_ERROR(Add(RecordType::kArtifact, {{"relation", produced ? "produced" : "used"},
                                                              {"name", l.name}, {"type", l.type},
                                                              {"version", l.version}}));
        }
      }
    }
    RUNTRACK_RETURN_IF_ERROR(Add(RecordType::kStatus, FinalStatus(events)));
    RUNTRACK_RETURN_IF_ERROR(CopyMedia(events.images));
    RUNTRACK_RETURN_IF_ERROR(CopyVerbatim());
    RUNTRACK_RETURN_IF_ERROR(WriteDeletedMarker());
    if (writer_) RUNTRACK_RETURN_IF_ERROR(writer_->Publish());
    return result_;
  }

 private:
  fs::path StagedMedia() const { return writer_->Staged(layout_.media_dir(src_.id)); }

  std::string Item(std::string_view file) const { return src_.rel + "/" + std::string(file); }

  Status Add(RecordType type, const json::object& body) { return writer_ ? writer_->AddJson(type, body) : Status::Ok(); }

  void ReadSmallFiles() {
    meta_ = ReadJsonObjectFile(src_.dir / "meta.json", Item("meta.json"), log_);
    status_ = ReadJsonObjectFile(src_.dir / "status.json", Item("status.json"), log_, &status_present_);
    summary_ = ReadJsonObjectFile(src_.dir / "summary.json", Item("summary.json"), log_);
    environment_ = ReadJsonObjectFile(src_.dir / "environment.json", Item("environment.json"), log_);
    assets_ = ReadJsonObjectFile(src_.dir / "assets.json", Item("assets.json"), log_);
    created_ = ReadJsonObjectFile(src_.dir / "artifacts_created.json", Item("artifacts_created.json"), log_);
    used_ = ReadJsonObjectFile(src_.dir / "artifacts_used.json", Item("artifacts_used.json"), log_);
  }

  std::string Label(std::string_view what, const std::string& value) {
    if (util::CheckLabel(what, value).ok()) return value;
    log_.Add(src_.rel, fmt::format("{} refused by our store, imported as 'default'", what));
    return "default";
  }

  json::object RunStart() {
    const json::object empty;
    const json::object& meta = meta_ ? *meta_ : empty;
    std::optional<double> created = NumberMember(meta, "created_at");
    if (!created && status_) created = NumberMember(*status_, "started_at");
    if (!created) {
      created = MTime(src_.dir);
      log_.Add(src_.rel, "no created_at in meta.json or started_at in status.json: the folder's mtime is used");
    }
    json::array tags;
    if (auto* t = meta.if_contains("tags"); t && t->is_array()) {
      for (const auto& tag : t->get_array()) {
        if (tag.is_string() && util::CheckLabel("tag", tag.get_string()).ok()) {
          tags.push_back(tag);
        } else {
          log_.Add(Item("meta.json"), "tag refused by our store: " + util::SerializeJson(tag));
        }
      }
    }
    // v0.6 keeps its config in assets.json (log_config): {"args", "extra", "config_files"}.
    json::object config;
    if (assets_) {
      if (auto* c = assets_->if_contains("config"); c && c->is_object()) config = c->get_object();
    }
    json::object start{{"id", src_.id},
                       {"project", Label("project", src_.project)},
                       {"name", Label("run name", src_.name)},
                       {"created_at", *created},
                       {"config", std::move(config)},
                       {"tags", std::move(tags)},
                       {"pid", NumberMember(meta, "pid") ? static_cast<int64_t>(*NumberMember(meta, "pid")) : 0},
                       {"hostname", StringMember(meta, "hostname")}};
    if (src_.layout == "v0.6") AddPathAndAlias(meta, start);
    return start;
  }

  // A v0.6 run's path (meta.json's, else its folders under runs/) and alias, as our SDK's
  // rn.init(path=, alias=) records them; a path or alias our store refuses is reported and left out.
  void AddPathAndAlias(const json::object& meta, json::object& start) {
    std::string path = StringMember(meta, "path");
    if (path.empty()) {
      // rel is "runs/<path...>/<id>".
      const size_t first = src_.rel.find('/'), last = src_.rel.rfind('/');
      if (first != std::string::npos && last > first) path = src_.rel.substr(first + 1, last - first - 1);
    }
    if (!path.empty()) {
      if (auto normalized = NormalizeRunPath(path); normalized.ok()) start["path"] = *normalized;
      else log_.Add(Item("meta.json"), "path refused by our store: " + normalized.status().message());
    }
    const std::string alias = StringMember(meta, "alias");
    if (!alias.empty()) {
      if (util::CheckLabel("alias", alias).ok()) start["alias"] = alias;
      else log_.Add(Item("meta.json"), "alias refused by our store");
    }
  }

  Status AddSummary() {
    json::object summary = summary_ ? *summary_ : json::object();
    if (environment_) {
      // Our SDK keeps the captured environment in the summary (bindings/python/runicorn/environment.py).
      if (summary.contains("environment"))
        log_.Add(Item("summary.json"), "member 'environment' replaced by environment.json");
      summary["environment"] = *environment_;
    }
    if (!summary.empty()) RUNTRACK_RETURN_IF_ERROR(Add(RecordType::kSummary, summary));
    std::string best = StringMember(summary, "best_metric_name");
    std::string mode = StringMember(summary, "best_metric_mode");
    if (!best.empty() && (mode == "max" || mode == "min") && util::CheckMetricName(best).ok())
      RUNTRACK_RETURN_IF_ERROR(Add(RecordType::kPrimaryMetric, {{"name", best}, {"mode", mode}}));
    return Status::Ok();
  }

  Status AddLogs() {
    auto text = ReadSourceFile(src_.dir / "logs.txt", Item("logs.txt"), log_);
    if (!text || text->empty()) return Status::Ok();
    if (!util::IsValidUtf8(*text)) {
      log_.Add(Item("logs.txt"), "not valid UTF-8, not imported");
      return Status::Ok();
    }
    result_.log_bytes = text->size();
    return writer_ ? writer_->AddText(*text) : Status::Ok();
  }

  // Runicorn's statuses (notes §6) onto ours. Its viewer would mark a "running" run whose process is
  // gone as failed/process_not_found; an imported run has no live writer, so it is recorded so.
  json::object FinalStatus(const EventsSummary& events) {
    json::object out;
    std::optional<double> last = events.last_wall_time;
    if (!status_) {
      out = {{"status", "failed"}, {"exit_reason", status_present_ ? "status_unreadable" : "status_missing"}};
      if (last) out["ended_at"] = *last;
      log_.Add(Item("status.json"), fmt::format("{}: imported as failed ({})",
                                                status_present_ ? "unreadable" : "missing",
                                                out["exit_reason"].get_string().c_str()));
      return out;
    }
    std::string status = StringMember(*status_, "status");
    std::optional<double> ended = NumberMember(*status_, "ended_at");
    std::string reason = StringMember(*status_, "exit_reason");
    if (status == "finished" || status == "failed" || status == "interrupted") {
      out["status"] = status;
      if (ended) out["ended_at"] = *ended;
      if (!reason.empty()) out["exit_reason"] = reason;
    } else if (status == "running") {
      out = {{"status", "failed"}, {"exit_reason", "process_not_found"}};
      if (ended || last) out["ended_at"] = ended ? *ended : *last;
      log_.Add(Item("status.json"), "still 'running' in the source: imported as failed (process_not_found)");
    } else {
      std::string shown = util::IsValidUtf8(status) ? status : "<invalid UTF-8>";
      out = {{"status", "failed"}, {"exit_reason", "runicorn_status:" + shown}};
      if (ended) out["ended_at"] = *ended;
      log_.Add(Item("status.json"), "status '" + shown + "' has no equivalent: imported as failed");
    }
    return out;
  }

  Status CopyMedia(const std::vector<ImageEvent>& images) {
    fs::path media = src_.dir / "media";
    EntryKind kind = KindOf(media);
    if (kind == EntryKind::kMissing) return WriteImageIndex(images, {});
    if (kind != EntryKind::kDirectory) {
      log_.Add(Item("media"), kind == EntryKind::kSymlink ? "symbolic link: links are never followed" : "not a folder");
      return WriteImageIndex(images, {});
    }
    std::set<std::string> copied;
    std::error_code ec;
    std::vector<fs::path> entries;
    for (fs::directory_iterator it(media, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(it->path());
    if (ec) log_.Add(Item("media"), "folder cannot be listed: " + ec.message());
    std::sort(entries.begin(), entries.end());
    if (writer_ && !entries.empty()) RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(StagedMedia()));
    for (const fs::path& p : entries) {
      std::string name = p.filename().string();
      std::string item = Item("media/" + name);
      EntryKind k = KindOf(p);
      if (k == EntryKind::kSymlink) { log_.Add(item, "symbolic link: links are never followed"); continue; }
      if (k != EntryKind::kFile) { log_.Add(item, "not a regular file (nested folders are not imported)"); continue; }
      if (!IsSafeMediaName(name)) { log_.Add(item, "file name refused (hidden, control characters or our index name)"); continue; }
      if (writer_) RUNTRACK_RETURN_IF_ERROR(CopyFileSynced(p, StagedMedia() / name));
      copied.insert(name);
      ++result_.media_files;
    }
    return WriteImageIndex(images, copied);
  }

  // Writes media/images.jsonl (our SDK's index: key, path, step, caption, time) for the image
  // events whose file was copied; reports the others.
  Status WriteImageIndex(const std::vector<ImageEvent>& images, const std::set<std::string>& copied) {
    std::string index;
    for (const ImageEvent& e : images) {
      std::string name = e.path.starts_with("media/") ? e.path.substr(6) : std::string();
      if (!copied.count(name)) {
        log_.Add(Item("events.jsonl"), "image event for a missing or refused file skipped: " +
                                           (util::IsValidUtf8(e.path) ? e.path : std::string("<invalid UTF-8>")));
        continue;
      }
      json::object entry{{"key", e.key}, {"path", e.path}, {"step", e.step}, {"caption", e.caption}, {"time", e.time}};
      index += util::SerializeJson(entry) + "\n";
    }
    if (index.empty() || !writer_) return Status::Ok();
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(StagedMedia()));
    return util::WriteFileAtomic(StagedMedia() / kMediaIndex, index);
  }

  Status CopyVerbatim() {
    if (!writer_) return Status::Ok();
    bool any = false;
    for (const char* name : kVerbatimFiles) {
      fs::path from = src_.dir / name;
      if (KindOf(from) != EntryKind::kFile) continue;  // links were reported when read
      if (!any) RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(writer_->dir() / "runicorn"));
      any = true;
      RUNTRACK_RETURN_IF_ERROR(CopyFileSynced(from, writer_->dir() / "runicorn" / name));
    }
    // The run folder's environment.json (StoreLayout::environment_path), when it is valid JSON.
    if (environment_ && KindOf(src_.dir / "environment.json") == EntryKind::kFile)
      RUNTRACK_RETURN_IF_ERROR(CopyFileSynced(src_.dir / "environment.json",
                                              writer_->Staged(layout_.environment_path(src_.id))));
    return Status::Ok();
  }

  // Runicorn's `.deleted` ({"deleted_at", "reason", "original_status"}) becomes our `deleted` marker
  // (docs/FORMATS.md), whose presence is what hides the run.
  Status WriteDeletedMarker() {
    fs::path marker = src_.dir / ".deleted";
    EntryKind kind = KindOf(marker);
    if (kind == EntryKind::kMissing) return Status::Ok();
    if (kind == EntryKind::kSymlink) {
      log_.Add(Item(".deleted"), "symbolic link: links are never followed; the run is imported as not deleted");
      return Status::Ok();
    }
    auto parsed = ReadJsonObjectFile(marker, Item(".deleted"), log_);
    std::optional<double> at = parsed ? NumberMember(*parsed, "deleted_at") : std::nullopt;
    if (!at) at = MTime(marker);
    if (!writer_) return Status::Ok();
    return util::WriteFileAtomic(writer_->Staged(layout_.deleted_marker(src_.id)), fmt::format("{:.6f}\n", *at));
  }

  const SourceRunDir& src_;
  const StoreLayout& layout_;
  bool dry_run_;
  const SkipLog& log_;
  std::unique_ptr<ImportedRunWriter> writer_;
  ImportedRun result_;
  std::optional<json::object> meta_, status_, summary_, environment_, assets_, created_, used_;
  bool status_present_ = false;
};

}  // namespace

Result<ImportedRun> ImportRun(const SourceRunDir& source, const StoreLayout& layout, bool dry_run,
                              const SkipLog& log, RunLinks* links, const RunLinks& asset_links) {
  RunImporter importer(source, layout, dry_run, log);
  return importer.Import(links, asset_links);
}

RunLinks ReadRunLinks(const SourceRunDir& source) {
  std::vector<SkippedItem> ignored;
  SkipLog quiet(&ignored);
  RunLinks links;
  links.produced = ReadLinks(ReadJsonObjectFile(source.dir / "artifacts_created.json", "", quiet), "", quiet);
  links.used = ReadLinks(ReadJsonObjectFile(source.dir / "artifacts_used.json", "", quiet), "", quiet);
  return links;
}

}  // namespace runtrack::importer
