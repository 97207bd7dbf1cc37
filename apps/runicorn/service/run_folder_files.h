// A run folder's files, wherever the run is: read from this store's folder when it holds the run,
// else — with a shared back end (`viewer --catalog … --objects …`) — from what the replica holding
// the run published (RunFileSource, docs/SCALE-OUT.md "Run logs and run files in the bucket").
// Services that read files of a run folder (ArchiveService's zip export, RunInsights' environment
// panel) go through this, so a run another replica holds answers with the owner's bytes.
//
// Paths are relative to the run folder ("media/a.png"), checked by ValidateRunFilePath before
// anything is opened. Locally every component is opened with O_NOFOLLOW below the run folder, so a
// symbolic link (to a file or a folder) is never followed: it is absent, as it is for the
// publisher, which never publishes one. A name ValidateRunFilePath refuses (a backslash, a
// control character) is left out of listings on both sides for the same reason.
//
// A run is read from the published set when a source is configured and this store has no folder
// for the run (the rule MediaService uses); the source's errors come back unchanged
// (FailedPrecondition for a live run or one not published yet, Corruption for a damaged or missing
// object, Busy when PostgreSQL is down).
//
// Thread safety: every const method from any number of threads; UseRemoteFiles before serving.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/run_file_source.h"

namespace runicorn::service {

class RunFolderFiles {
 public:
  explicit RunFolderFiles(const runtrack::StoreLayout& layout) : layout_(layout) {}

  void UseRemoteFiles(std::shared_ptr<const RunFileSource> remote) { remote_ = std::move(remote); }

  // Whether the run's files come from the published set (not from this store's folder).
  bool Remote(std::string_view run_id) const;

  // Regular files below the run's folder `dir` ("media"), at any depth, by path (bytewise order),
  // paths relative to the run folder ("media/sub/a.png"). A missing folder: none.
  runtrack::Result<std::vector<PublishedRunFile>> List(std::string_view run_id, std::string_view dir) const;
  // The size of a regular file; nullopt when there is none (absent, a link, a folder).
  runtrack::Result<std::optional<uint64_t>> Size(std::string_view run_id, std::string_view path) const;
  // The file's bytes in order with bounded memory, exactly size() of them (a local file that
  // shrinks while read is IOError). NotFound "Run file not found" when Size() would be nullopt.
  runtrack::Result<std::unique_ptr<RunFileStream>> Open(std::string_view run_id, std::string_view path) const;

  // The path of a StoreLayout file or folder of the run relative to its folder ("environment.json"),
  // so callers name run files through the layout, never by spelling them.
  std::string Relative(std::string_view run_id, const std::filesystem::path& in_run_dir) const;

 private:
  const runtrack::StoreLayout& layout_;
  std::shared_ptr<const RunFileSource> remote_;  // null: this store only
};

// Reads a whole stream; IOError past `max_bytes` (callers check the size first).
runtrack::Result<std::string> ReadRunFileStream(RunFileStream& stream, uint64_t max_bytes);

}  // namespace runicorn::service
