#include "service/artifact_service.h"

#include <charconv>

#include <fmt/format.h>

namespace runicorn::service {
using runtrack::Result;
using runtrack::Status;

namespace {

Status CheckName(const std::string& name) {
  Status s = runtrack::ValidateArtifactName(name);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("Invalid artifact name: {}", s.message()));
  return Status::Ok();
}

Status CheckAlias(const std::string& alias) {
  Status s = runtrack::ValidateAliasName(alias);
  if (!s.ok()) return Status::InvalidArgument(fmt::format("Invalid alias: {}", s.message()));
  return Status::Ok();
}

Status NotFoundWithType(const VersionRef& ref) {
  return Status::NotFound(
      fmt::format("Artifact not found: {} of type {}", ref.name, runtrack::ArtifactTypeName(*ref.type)));
}

// A file name safe inside Content-Disposition's quoted string.
std::string SafeFileName(const std::string& path) {
  std::string out;
  for (char c : path.substr(path.rfind('/') + 1))
    out.push_back(c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? '_' : c);
  return out;
}

}  // namespace

Result<int> ParseVersion(std::string_view text) {
  if (!text.empty() && (text[0] == 'v' || text[0] == 'V')) text.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > 1000000000)
    return Status::InvalidArgument("Invalid version: expected v<N> with N >= 1");
  return static_cast<int>(v);
}

Status ArtifactService::CheckRef(const VersionRef& ref, bool check_type) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(ref.name));
  if (check_type && ref.type) {
    RUNTRACK_ASSIGN_OR_RETURN(auto info, artifacts_.GetVersion(ref.name, ref.version));
    if (info.type != *ref.type) return NotFoundWithType(ref);
  }
  return Status::Ok();
}

Result<std::vector<runtrack::ArtifactSummary>> ArtifactService::List(std::optional<runtrack::ArtifactType> type) {
  return artifacts_.ListArtifacts(type);
}

Result<runtrack::ArtifactStats> ArtifactService::Stats() { return artifacts_.Stats(); }

Result<std::vector<runtrack::ArtifactVersionInfo>> ArtifactService::Versions(const std::string& name,
                                                                             std::optional<runtrack::ArtifactType> type,
                                                                             bool include_deleted) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_ASSIGN_OR_RETURN(auto versions, artifacts_.ListVersions(name, include_deleted));
  for (const auto& v : versions)
    if (type && v.type != *type) return Status::NotFound(fmt::format("Artifact not found: {}", name));
  return versions;
}

Result<runtrack::ArtifactVersionInfo> ArtifactService::Version(const VersionRef& ref) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(ref.name));
  RUNTRACK_ASSIGN_OR_RETURN(auto info, artifacts_.GetVersion(ref.name, ref.version));
  if (ref.type && info.type != *ref.type) return NotFoundWithType(ref);
  return info;
}

Result<runtrack::ArtifactFileList> ArtifactService::Files(const VersionRef& ref) {
  RUNTRACK_RETURN_IF_ERROR(CheckRef(ref, true));
  return artifacts_.ListFiles(ref.name, ref.version);
}

Result<FileDownload> ArtifactService::OpenFile(const VersionRef& ref, const std::string& path) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(ref.name));
  if (Status s = runtrack::ValidateArtifactPath(path); !s.ok())
    return Status::InvalidArgument(fmt::format("Invalid file path: {}", s.message()));
  RUNTRACK_ASSIGN_OR_RETURN(auto handle, artifacts_.Resolve(fmt::format("{}:v{}", ref.name, ref.version)));
  if (ref.type && handle.info().type != *ref.type) return NotFoundWithType(ref);
  RUNTRACK_ASSIGN_OR_RETURN(auto reader, handle.OpenFile(path));
  return FileDownload{SafeFileName(path), std::move(reader)};
}

Result<LineageView> ArtifactService::Lineage(const VersionRef& ref, int max_depth) {
  RUNTRACK_RETURN_IF_ERROR(CheckRef(ref, true));
  LineageView view;
  RUNTRACK_ASSIGN_OR_RETURN(view.graph, artifacts_.Lineage(ref.name, ref.version, max_depth));
  if (runs_ != nullptr)
    for (const auto& n : view.graph.nodes)
      if (n.node_type == "run")
        if (auto run = runs_->GetRun(n.node_id); run.ok()) view.runs.emplace(n.node_id, run->run);
  for (const auto& n : view.graph.nodes) {
    const size_t colon = n.node_id.rfind(":v");
    if (n.node_type != "artifact" || colon == std::string::npos) continue;
    auto version = ParseVersion(std::string_view(n.node_id).substr(colon + 2));
    if (!version.ok()) continue;
    if (auto info = artifacts_.GetVersion(n.node_id.substr(0, colon), *version); info.ok())
      view.version_created_at.emplace(n.node_id, info->created_at);
  }
  return view;
}

Status ArtifactService::Delete(const VersionRef& ref, bool permanent) {
  RUNTRACK_RETURN_IF_ERROR(CheckRef(ref, true));
  return artifacts_.Delete(ref.name, ref.version, permanent ? runtrack::DeleteMode::kPermanent : runtrack::DeleteMode::kSoft);
}

Status ArtifactService::Restore(const VersionRef& ref) {
  RUNTRACK_RETURN_IF_ERROR(CheckRef(ref, false));
  return artifacts_.Restore(ref.name, ref.version);
}

Result<std::map<std::string, int>> ArtifactService::Aliases(const std::string& name) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  return artifacts_.Aliases(name);
}

Result<std::map<std::string, int>> ArtifactService::SetAlias(const std::string& name, const std::string& alias,
                                                              int version) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_RETURN_IF_ERROR(CheckAlias(alias));
  RUNTRACK_RETURN_IF_ERROR(artifacts_.SetAlias(name, alias, version));
  return artifacts_.Aliases(name);
}

Status ArtifactService::RemoveAlias(const std::string& name, const std::string& alias) {
  RUNTRACK_RETURN_IF_ERROR(CheckName(name));
  RUNTRACK_RETURN_IF_ERROR(CheckAlias(alias));
  return artifacts_.RemoveAlias(name, alias);
}

Result<runtrack::ArtifactHandle> ArtifactService::Resolve(const std::string& spec) { return artifacts_.Resolve(spec); }

Result<GcPreview> ArtifactService::PreviewGc() {
  // What a collection could free is what the stats call garbage: blob pool minus referenced chunks.
  RUNTRACK_ASSIGN_OR_RETURN(auto stats, artifacts_.Stats());
  GcPreview p;
  p.blob_pool_bytes = stats.blob_pool_bytes;
  p.referenced_bytes = stats.stored_bytes;
  p.unreferenced_bytes = stats.blob_pool_bytes > stats.stored_bytes ? stats.blob_pool_bytes - stats.stored_bytes : 0;
  return p;
}

Result<runtrack::GcReport> ArtifactService::Gc(std::chrono::seconds grace, const runtrack::ProgressCallback& progress) {
  return artifacts_.Gc(grace, progress);
}

}  // namespace runicorn::service
