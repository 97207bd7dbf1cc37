// Runicorn archives: POST /api/import/archive (a zip or tar.gz of Runicorn run folders, imported
// with runtrack::ImportRunicornStore) and GET /api/paths/export?format=zip (our runs written as
// Runicorn v0.6 run folders, which that import and Runicorn's own `import` read back). Read and
// written with libarchive.
//
// Extraction is defensive: only regular files and folders are written; a member that is a link
// (symbolic or hard), a device or a FIFO, whose name is absolute or has a ".." segment, or that
// repeats an earlier member's name, is skipped and reported. Files are created with O_EXCL |
// O_NOFOLLOW under a fresh private temporary folder, and the archive's total size and member
// count are capped, so an archive can neither write outside that folder nor fill the disk beyond
// the caps.
//
// Thread safety: every method may run concurrently with any other; each import extracts into its
// own temporary folder (two imports of the same runs at once: see runtrack/import.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/import.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/run_folder_files.h"
#include "service/storage.h"

namespace runicorn::service {

struct ArchiveLimits {
  uint64_t max_total_bytes = 8ull << 30;  // sum of extracted file sizes
  uint64_t max_members = 200000;
};

struct ArchiveImportResult {
  uint64_t extracted_files = 0;               // regular files taken from the archive
  std::vector<runtrack::SkippedItem> skipped_members;  // members not extracted, with the reason
  runtrack::ImportReport report;              // what the import made of them
};

// A zip of selected runs in Runicorn v0.6's layout, in a temporary file the caller owns.
struct ExportedZip {
  std::filesystem::path file;
  uint64_t size = 0;
  uint64_t runs = 0;
};

class ArchiveService {
 public:
  ArchiveService(const RunCatalog& runs, const MetricReader& metrics, const runtrack::StoreLayout& layout)
      : runs_(runs), metrics_(metrics), layout_(layout), folders_(layout) {}

  // With a shared back end: a run whose folder is not on this disk is exported from what its
  // replica published (RunFileSource), with the owner's bytes. Set before serving.
  void UseRemoteFiles(std::shared_ptr<const RunFileSource> files) { folders_.UseRemoteFiles(std::move(files)); }

  // Imports the archive held in `archive` (zip, tar, tar.gz; recognised by content, not by
  // name). InvalidArgument "Invalid archive: ..." when it is none of those, is corrupt or exceeds
  // `limits` (nothing is imported then); IOError when the temporary folder or the store cannot
  // be written.
  runtrack::Result<ArchiveImportResult> Import(const std::filesystem::path& archive,
                                               const ArchiveLimits& limits = {}) const;
  // Import() of an uploaded archive's bytes, written first to a private temporary file (removed
  // afterwards) so libarchive reads it from disk.
  runtrack::Result<ArchiveImportResult> ImportUpload(std::string_view bytes, const ArchiveLimits& limits = {}) const;

  // Writes the runs (ids validated by the caller's listing) as
  //   index.json                       {"path", "exact", "total_runs", "runs": [...]} (as json export)
  //   runs/<path>/<run_id>/meta.json, status.json, summary.json, events.jsonl, logs.txt,
  //   environment.json (when captured), media/... (every regular file below media/ but its index,
  //   by path; links are not followed)
  // into a new temporary zip. `index_json` is the index.json text. summary.json, and each run's
  // "summary" in index.json, has its keys sorted (bytewise, at every depth): PostgreSQL's JSONB
  // keeps no key order, so this is what makes every replica of a shared back end write the same
  // bytes. Files are streamed into the zip (bounded
  // memory whatever their size). A run held by another replica is read from what it published
  // (UseRemoteFiles); its errors fail the whole export and remove the zip — FailedPrecondition for
  // a live run or one not published yet, Corruption for a damaged object — never a partial zip.
  runtrack::Result<ExportedZip> ExportZip(const std::vector<runtrack::RunDetail>& runs,
                                          const std::vector<std::string>& paths, const std::string& index_json) const;

 private:
  const RunCatalog& runs_;
  const MetricReader& metrics_;
  const runtrack::StoreLayout& layout_;
  RunFolderFiles folders_;
};

// Extracts `archive` into the existing folder `dest` (see the file comment). Exposed for tests.
runtrack::Result<uint64_t> ExtractArchive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                                          const ArchiveLimits& limits, std::vector<runtrack::SkippedItem>* skipped);

}  // namespace runicorn::service
