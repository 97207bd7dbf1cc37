// POST /api/import/archive (docs/API.md "Runicorn v0.6 paths"): a multipart upload whose field
// `file` is a zip or tar.gz of Runicorn run folders. The body is already bounded by the server's
// body limit (413 beyond it); the service writes the file part to a private temporary file that
// libarchive reads, so extraction never holds a second copy of the archive in memory.
#include <fmt/format.h>

#include "encode/compat_v06_json.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/multipart.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

Response HandleImportArchive(const AppContext& ctx, const Request& req) {
  auto boundary = MultipartBoundary(req.Header("content-type"));
  if (!boundary.ok()) return Response::Error(400, "Send the archive as multipart/form-data with a field 'file'");
  auto parts = ParseMultipart(req.body, *boundary);
  if (!parts.ok()) return Response::Error(400, parts.status().message());
  const MultipartPart* file = nullptr;
  for (const auto& p : *parts)
    if (p.name == "file") file = &p;
  if (file == nullptr) return Response::Error(400, "Field 'file' is required");
  if (file->body.empty()) return Response::Error(400, "Invalid archive: the file is empty");
  RUNICORN_ASSIGN_OR_RESPOND(auto result, ctx.services->archives.ImportUpload(file->body));
  return Response::Json(encode::ArchiveImported(result, ctx.services->layout));
}

}  // namespace runicorn::server
