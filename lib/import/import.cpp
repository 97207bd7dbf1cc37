// ImportRunicornStore: the orchestration (scan, per-run import, artifacts, lineage) and the
// exception edge of the import module.
#include "runtrack/import.h"

#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "import/artifact_import.h"
#include "import/asset_import.h"
#include "import/imported_run_writer.h"
#include "import/run_import.h"
#include "import/source_scan.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "util/validation.h"
#include "util/guard.h"

namespace runtrack {
namespace fs = std::filesystem;
using namespace importer;

namespace {

class Progress {
 public:
  Progress(const ImportProgressCallback& callback, uint64_t total) : callback_(callback), total_(total) {}
  void Step(std::string_view item) {
    ++done_;
    if (callback_) callback_(item, done_, total_);
  }
  void Finish() {
    if (callback_ && done_ < total_) callback_("", total_, total_);
  }

 private:
  const ImportProgressCallback& callback_;
  uint64_t total_;
  uint64_t done_ = 0;
};

Result<ImportReport> Import(const fs::path& from_arg, const fs::path& root_arg, const ImportOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(from_arg, ec))
    return Status::NotFound(fmt::format("no Runicorn store at {}: not a folder", from_arg.string()));
  fs::path from = fs::canonical(from_arg, ec);
  if (ec) return Status::IOError(fmt::format("resolve {}: {}", from_arg.string(), ec.message()));
  fs::path root = fs::absolute(root_arg, ec);
  if (ec) return Status::IOError(fmt::format("resolve {}: {}", root_arg.string(), ec.message()));
  if (fs::exists(root, ec) && fs::equivalent(from, root, ec))
    return Status::InvalidArgument("the Runicorn store and the target store are the same folder");

  ImportReport report;
  report.dry_run = options.dry_run;
  SkipLog log(&report.skipped);
  StoreLayout layout(root);
  if (!options.dry_run) {
    RUNTRACK_ASSIGN_OR_RETURN(auto store, Store::Open(root));
    RemoveStaleImportFolders(layout.runs_dir());
  }

  std::vector<SourceRunDir> runs = ScanRunicornRuns(from, log);
  RUNTRACK_ASSIGN_OR_RETURN(SourceArtifacts artifacts, ScanRunicornArtifacts(from, log));
  Progress progress(options.progress, runs.size() + artifacts.versions.size());

  // v0.6 assets become artifact versions before their run is written, so the run's journal can
  // name them; the store is opened only when a run has assets.json.
  std::optional<ArtifactStore> asset_store;
  std::set<std::string> dry_run_asset_keys;
  auto import_assets = [&](const SourceRunDir& run) -> Result<RunLinks> {
    if (KindOf(run.dir / "assets.json") != EntryKind::kFile) return RunLinks{};
    if (!options.dry_run && !asset_store) {
      RUNTRACK_ASSIGN_OR_RETURN(ArtifactStore opened, ArtifactStore::Open(root));
      asset_store.emplace(std::move(opened));
    }
    return ImportRunAssets(run, from, asset_store ? &*asset_store : nullptr, &dry_run_asset_keys, log, &report);
  };

  // Runs before v0.5 artifacts, so lineage edges can name them.
  std::set<std::string> seen;
  std::map<std::string, RunLinks> links;  // run id -> lineage records, for runs in the target
  for (const SourceRunDir& run : runs) {
    if (!util::IsValidRunId(run.id)) {
      log.Add(run.rel, "run id does not match YYYYMMDD_HHMMSS_xxxxxx (6 lower-case hex); runs are never "
                       "renamed, so it is not imported");
    } else if (!seen.insert(run.id).second) {
      log.Add(run.rel, "duplicate run id: an earlier folder with this id was taken (Runicorn's first match)");
    } else if (fs::exists(layout.run_dir(run.id), ec)) {
      report.existing_runs.push_back(run.id);
      links[run.id] = ReadRunLinks(run);
      RUNTRACK_RETURN_IF_ERROR(import_assets(run).status());  // idempotent: completes an interrupted import
    } else {
      RUNTRACK_ASSIGN_OR_RETURN(RunLinks asset_links, import_assets(run));
      RunLinks run_links;
      auto imported = ImportRun(run, layout, options.dry_run, log, &run_links, asset_links);
      if (imported.ok()) {
        report.imported_files += imported->media_files;
        report.imported_runs.push_back(std::move(imported).value());
        links[run.id] = std::move(run_links);
      } else if (imported.status().code() == StatusCode::kAlreadyExists) {
        report.existing_runs.push_back(run.id);
      } else {
        return imported.status();
      }
    }
    progress.Step(run.rel);
  }

  RUNTRACK_RETURN_IF_ERROR(ImportArtifacts(artifacts, from, root, options.dry_run, links, log, &report,
                                           [&](std::string_view item) { progress.Step(item); }));
  progress.Finish();
  return report;
}

}  // namespace

Result<ImportReport> ImportRunicornStore(const fs::path& from, const fs::path& store_root,
                                         const ImportOptions& options) {
  return util::GuardStatus("import", [&]() -> Result<ImportReport> {
    return Import(from, store_root, options);
  });
}

}  // namespace runtrack
