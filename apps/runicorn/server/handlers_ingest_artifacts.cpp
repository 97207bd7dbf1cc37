// Artifact shipping's receiving end (docs/REMOTE.md "Artifacts"):
//   POST /api/ingest/chunks/missing              {"digests": [...]} -> {"missing": [...]}
//   PUT  /api/ingest/chunks/{digest}?size=&offset=   one part of a chunk (octet-stream)
//   PUT  /api/ingest/artifacts/{name}/v{version}[?used_by=RUN]   the version's manifest.json
// Chunk and manifest bodies are raw bytes, or one zstd frame with `Content-Encoding: zstd`.
#include <boost/json.hpp>

#include "runtrack/artifact_transfer.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

namespace {

bool IsZstd(const Request& req) { return req.Header("content-encoding") == "zstd"; }

bj::array Strings(const std::vector<std::string>& items) {
  bj::array out;
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

}  // namespace

Response HandleIngestMissingChunks(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseStrictJsonObject(req.body, {"digests"}));
  RUNICORN_ASSIGN_OR_RESPOND(auto digests, GetStringList(body, "digests", runtrack::kMaxMissingQueryDigests));
  RUNICORN_ASSIGN_OR_RESPOND(auto missing, ctx.services->artifact_ingest.MissingChunks(digests));
  return Response::Json(bj::object{{"missing", Strings(missing)}});
}

Response HandleIngestChunk(const AppContext& ctx, const Request& req) {
  const std::string& digest = req.Param("digest");
  RUNICORN_ASSIGN_OR_RESPOND(auto ack, ctx.services->artifact_ingest.PutChunk(digest, req.query.Get("size"),
                                                                               req.query.Get("offset"), req.body,
                                                                               IsZstd(req)));
  bj::object body{{"digest", digest}, {"stored", ack.stored}, {"received", ack.received}};
  if (ack.gap) {
    body["detail"] = "the part does not continue the server's partial copy; resend from 'received'";
    return Response::Json(body, 409);
  }
  return Response::Json(body);
}

Response HandleIngestArtifact(const AppContext& ctx, const Request& req) {
  const std::string* used_by = req.query.Get("used_by");
  RUNICORN_ASSIGN_OR_RESPOND(
      auto ack, ctx.services->artifact_ingest.PutManifest(req.Param("name"), req.Param("version"), req.body,
                                                          IsZstd(req), used_by == nullptr ? "" : *used_by));
  if (!ack.missing_chunks.empty()) {
    return Response::Json(bj::object{{"detail", "the manifest references chunks the server does not have; upload "
                                                "them first"},
                                      {"missing_chunks", Strings(ack.missing_chunks)}},
                          409);
  }
  return Response::Json(bj::object{{"name", req.Param("name")},
                                   {"type", ack.type},
                                   {"version", ack.version},
                                   {"created", ack.created}},
                        ack.created ? 201 : 200);
}

}  // namespace runicorn::server
