// ImportedRunWriter: writes the journal and folder of one imported run, keeping the source's wall
// times, creation and end times, status and exit reason (the public Run API stamps wall time
// itself, so the import frames journal records directly; the format is docs/FORMATS.md's).
//
// Atomicity: everything is written into a temporary folder <runs>/.import-<id>-<pid>-<n> (a name
// the catalog ignores, since it is not a run id) and Publish() renames it onto <runs>/<id> with
// RENAME_NOREPLACE, after fsyncing the journal, the files and the folders. So <runs>/<id> appears
// complete or not at all, and an existing run is never replaced (AlreadyExists). A writer
// destroyed before Publish() removes its temporary folder; one killed mid-way leaves it, and
// RemoveStaleImportFolders() clears it on the next import.
//
// Not thread-safe: one writer per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>

#include "journal/journal_writer.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runtrack::importer {

namespace fs = std::filesystem;

class ImportedRunWriter {
 public:
  // Creates the temporary folder with an empty lock file and the journal header. `run_id` must be
  // valid (ValidateRunId).
  static Result<std::unique_ptr<ImportedRunWriter>> Create(const StoreLayout& layout, const std::string& run_id);
  ~ImportedRunWriter();
  ImportedRunWriter(const ImportedRunWriter&) = delete;
  ImportedRunWriter& operator=(const ImportedRunWriter&) = delete;

  // The temporary run folder.
  const fs::path& dir() const { return tmp_dir_; }
  // Where a path of the published run (e.g. layout.media_dir(id)) is staged before Publish().
  fs::path Staged(const fs::path& final_path) const {
    return tmp_dir_ / final_path.lexically_relative(layout_.run_dir(run_id_));
  }

  // Appends one JSON record (RunStart, Summary, PrimaryMetric, Status, Artifact).
  Status AddJson(journal::RecordType type, const boost::json::object& body);
  // Appends one point; metric and stage names are interned on first use (stage "" = none).
  Status AddPoint(std::string_view metric, std::string_view stage, int64_t step, double wall_time, double value);
  // Appends log text as Text records of at most 1 MiB, split after a newline where possible.
  Status AddText(std::string_view text);

  // Writes what is buffered, fsyncs, and renames the folder onto <runs>/<id>.
  Status Publish();

 private:
  ImportedRunWriter(StoreLayout layout, std::string run_id, fs::path tmp_dir, int fd)
      : layout_(std::move(layout)), run_id_(std::move(run_id)), tmp_dir_(std::move(tmp_dir)), fd_(fd) {}
  uint32_t Intern(std::unordered_map<std::string, uint32_t>& table, journal::NameKind kind, std::string_view name);
  Status WriteIfLarge();
  Status WritePending();

  StoreLayout layout_;
  std::string run_id_;
  fs::path tmp_dir_;
  int fd_ = -1;
  bool published_ = false;
  journal::PendingRecords pending_;
  std::unordered_map<std::string, uint32_t> metric_ids_, stage_ids_;
  uint32_t next_name_id_ = 1;
};

// Removes <runs>/.import-* folders left by importers that died (their pid no longer exists).
void RemoveStaleImportFolders(const fs::path& runs_dir);

}  // namespace runtrack::importer
