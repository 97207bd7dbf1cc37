// A run's logged images (<run dir>/media/, indexed by media/images.jsonl, which the Python SDK's
// log_image and `runicorn import --from-runicorn` write): GET /api/runs/{id}/media lists them and
// GET /api/runs/{id}/media/{file} serves one, for the run page's image gallery.
//
// A file name from outside must be one plain component of safe characters (no '/', no leading
// '.'), and only a regular file (never a symbolic link) directly in the run's media folder is
// served, so nothing outside that folder can be reached.
//
// Thread safety: every method may run concurrently with any other and with the run's writer (a
// torn last index line is skipped).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/run_file_source.h"
#include "service/storage.h"

namespace runicorn::service {

struct MediaImage {
  std::string key;
  std::string file;                // name inside media/
  std::optional<int64_t> step;
  std::optional<std::string> caption;
  double time = 0;                 // Unix seconds when logged
  uint64_t size = 0;
};

struct MediaFile {
  std::filesystem::path path;
  uint64_t size = 0;
  std::string content_type;
  // Set for a run another replica published (path empty): its bytes, read from the bucket.
  std::shared_ptr<RunFileStream> remote;
};

class MediaService {
 public:
  MediaService(const RunCatalog& runs, const runtrack::StoreLayout& layout) : runs_(runs), layout_(layout) {}

  // Indexed images whose file exists, in logging order. NotFound "Run not found" for an unknown
  // or malformed id.
  runtrack::Result<std::vector<MediaImage>> List(const std::string& run_id) const;
  // NotFound "Run not found" / "Media file not found"; InvalidArgument "Invalid media file name".
  runtrack::Result<MediaFile> Open(const std::string& run_id, const std::string& file) const;
  // With a shared back end: a run whose folder is not on this disk is answered from what its
  // replica published (RunFileSource), with the same checks and the same answers. Set before serving.
  void UseRemoteFiles(std::shared_ptr<const RunFileSource> files) { remote_ = std::move(files); }

 private:
  runtrack::Status CheckRun(const std::string& run_id) const;

  const RunCatalog& runs_;
  const runtrack::StoreLayout& layout_;
  std::shared_ptr<const RunFileSource> remote_;  // null: this store only
};

}  // namespace runicorn::service
