#include "service/artifact_ingest_service.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include <fmt/format.h>

#include "runtrack/remote.h"

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

namespace {

Result<uint64_t> ParseCount(const std::string* text, std::string_view name, uint64_t fallback) {
  if (text == nullptr) return fallback;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (text->empty() || ec != std::errc() || end != text->data() + text->size())
    return Status::InvalidArgument(
        fmt::format("Invalid query parameter '{}': '{}' is not a non-negative integer", name, *text));
  return v;
}

Result<std::string> Decode(std::string_view body, bool zstd, size_t max_bytes) {
  if (!zstd) {
    if (body.size() > max_bytes)
      return Status::InvalidArgument(fmt::format("body of {} bytes is larger than {} bytes", body.size(), max_bytes));
    return std::string(body);
  }
  return runtrack::DecompressIngestBody(body, max_bytes);
}

// A chunk the receiver published in blobs/ (named by its verified content).
Result<std::string> ReadChunk(const runtrack::StoreLayout& layout, std::string_view hex) {
  const auto path = layout.blobs_dir() / std::string(hex.substr(0, 2)) / std::string(hex);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  if (in) out << in.rdbuf();
  if (!in || in.bad()) return Status::IOError(fmt::format("cannot read received chunk {}", path.string()));
  return std::move(out).str();
}

}  // namespace

Result<std::vector<std::string>> ArtifactIngestService::MissingChunks(const std::vector<std::string>& digests) {
  if (!pool_) return receiver_.MissingChunks(digests);
  // The receiver validates the query (count, digest spelling) and keeps the counters; what is
  // missing is what the team's pool lacks, whatever this replica's cache holds.
  RUNTRACK_RETURN_IF_ERROR(receiver_.MissingChunks(digests).status());
  std::vector<std::string> distinct;
  std::unordered_set<std::string_view> seen;
  for (const auto& d : digests)
    if (seen.insert(d).second) distinct.push_back(d);
  return pool_->Missing(distinct);
}

Result<ChunkUploadAck> ArtifactIngestService::PutChunk(std::string_view digest, const std::string* size_text,
                                                       const std::string* offset_text, std::string_view body,
                                                       bool zstd) {
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t offset, ParseCount(offset_text, "offset", 0));
  RUNTRACK_ASSIGN_OR_RETURN(std::string raw, Decode(body, zstd, runtrack::kMaxShippedChunkBytes));
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t size, ParseCount(size_text, "size", offset + raw.size()));
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::ChunkUploadOutcome out, receiver_.PutChunk(digest, size, offset, raw));
  // Shared: acknowledged only once the pool has it (a resend after a failed put finds the chunk
  // whole in blobs/ and puts it again; HEAD first, so one another replica put costs no bytes).
  if (pool_ && out.stored) {
    RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, ReadChunk(layout_, digest));
    RUNTRACK_RETURN_IF_ERROR(pool_->Put(digest, bytes).status());
  }
  return ChunkUploadAck{out.stored, out.gap, out.received};
}

Result<ManifestAck> ArtifactIngestService::PutManifest(std::string_view name, std::string_view version_text,
                                                       std::string_view body, bool zstd, std::string_view used_by) {
  int version = 0;
  auto [end, ec] = std::from_chars(version_text.data(), version_text.data() + version_text.size(), version);
  if (version_text.empty() || ec != std::errc() || end != version_text.data() + version_text.size() || version < 1)
    return Status::InvalidArgument(fmt::format("Invalid artifact version 'v{}'", version_text));
  RUNTRACK_ASSIGN_OR_RETURN(std::string text, Decode(body, zstd, runtrack::kMaxShippedManifestBytes));
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::ManifestOutcome out, catalog_ ? catalog_->PutManifest(name, version, text, used_by)
                                                                     : receiver_.PutManifest(name, version, text, used_by));
  return ManifestAck{out.created, std::move(out.missing_chunks), std::string(runtrack::ArtifactTypeName(out.type)),
                     version};
}

namespace {

// Versions are ints on disk (v<N>); anything past that range is no version of ours.
Result<int> AliasVersion(int64_t version) {
  if (version < 1 || version > 1000000000)
    return Status::InvalidArgument(fmt::format("Invalid artifact version {}: expected 1 to 1000000000", version));
  return static_cast<int>(version);
}

}  // namespace

Result<bool> ArtifactIngestService::SetAlias(std::string_view name, std::string_view alias, int64_t version) {
  RUNTRACK_ASSIGN_OR_RETURN(int v, AliasVersion(version));
  return catalog_ ? catalog_->SetAlias(name, alias, v) : receiver_.SetAlias(name, alias, v);
}

Result<bool> ArtifactIngestService::RemoveAlias(std::string_view name, std::string_view alias,
                                                const std::string* version_text) {
  if (version_text == nullptr)
    return Status::InvalidArgument("Missing query parameter 'version': the version the alias pointed at");
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t version, ParseCount(version_text, "version", 0));
  RUNTRACK_ASSIGN_OR_RETURN(int v, AliasVersion(static_cast<int64_t>(std::min<uint64_t>(version, INT64_MAX))));
  return catalog_ ? catalog_->RemoveAlias(name, alias, v) : receiver_.RemoveAlias(name, alias, v);
}

}  // namespace runicorn::service
