// Static files of the web UI, served by `runicorn viewer` for every GET that is not under /api/.
//
// StaticFiles maps a request target ("/", "/app.js?x=1", "/vendor/uplot-1.6.32/uPlot.min.css") to a
// file under one web root and answers with its body, Content-Type and caching headers:
// - "/" serves index.html; index.html and every other unversioned file get "no-cache" plus a strong
//   ETag, so a browser revalidates (304, no body) and a new build is seen on the next load;
// - files under vendor/ (their folder names carry the package version) and files whose name carries
//   a content hash ("app.3f9a1c0d.js") get "public, max-age=31536000, immutable".
//
// Security: the decoded path must stay inside the root. Targets with "..", "." segments, percent-
// encoded dots or slashes that decode into those, backslashes, NUL or other control bytes, malformed
// percent escapes or an absolute path are refused with 400 before the file system is touched; a
// resolved path that leaves the root through a symlink is refused with 403. Only regular files are
// served (a directory other than the root itself is 404); files above `max_file_bytes` are 403.
//
// No dependency beyond the C++ standard library, so the viewer and the unit tests (tests/web/)
// compile it the same way.
//
// Thread safety: a StaticFiles is immutable after construction; Serve() may run on any number of
// threads at once. Files are read on every call (the UI is a handful of small files; the OS page
// cache keeps them hot), so a rebuilt UI is served without restarting the viewer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace runicorn::web {

struct StaticResponse {
  int status = 200;              // 200, 304, 400, 403, 404 or 405
  std::string body;              // empty for 304 and HEAD; a short text/plain reason for errors
  uint64_t content_length = 0;   // of the file for 200 (also for HEAD, whose body is empty)
  std::string content_type;      // always set
  std::string cache_control;     // always set ("no-store" for errors)
  std::string etag;              // quoted strong validator; set for 200 and 304
  // Set (and `body` left empty) for a 200 of a file larger than kHashedFileBytes when the caller
  // asked for no body: the caller streams it from here.
  std::filesystem::path file;
};

// Files up to this size are read whole and their ETag hashes their content; larger ones get an
// ETag from their size, modification time and inode, so serving them never holds them in memory.
inline constexpr uint64_t kHashedFileBytes = 1u << 20;

// Percent-decodes the path part of `target` (the query and fragment are dropped) and checks it;
// returns the path relative to the web root ("index.html" for "/", "vendor/x.js" for
// "/vendor/x.js"), or nullopt when the target is unsafe or malformed (see the file comment).
std::optional<std::string> ResolveTarget(std::string_view target);

// Content-Type for a file name by its extension, with "; charset=utf-8" on text types;
// "application/octet-stream" when unknown.
std::string_view ContentTypeFor(std::string_view file_name);

// Cache-Control for a path relative to the web root (see the file comment).
std::string_view CacheControlFor(std::string_view relative_path);

class StaticFiles {
 public:
  explicit StaticFiles(std::filesystem::path root, uint64_t max_file_bytes = 64u << 20);

  const std::filesystem::path& root() const { return root_; }

  // `method` is the HTTP method ("GET" or "HEAD"; anything else is 405). `if_none_match` is the
  // request's If-None-Match header value, empty when absent. Without `read_large_files`, a file
  // above kHashedFileBytes is not read: StaticResponse::file names it for streaming.
  StaticResponse Serve(std::string_view method, std::string_view target, std::string_view if_none_match = {},
                       bool read_large_files = true) const;

 private:
  std::filesystem::path root_;       // weakly canonical
  uint64_t max_file_bytes_;
};

}  // namespace runicorn::web
