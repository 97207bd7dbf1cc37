// The read-back checks of `runicorn migrate` (migrate_verify.h).
#include "viewer/migrate_verify.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace runicorn::viewer {

std::string ListingRow(const runtrack::RunSummary& r) {
  auto opt = [](const auto& v) { return v ? fmt::format("{}", *v) : std::string("-"); };
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|[{}]|{}|{}|{}|{}|{}|{}", r.id, r.project, r.name,
                     runtrack::RunStatusName(r.status), r.exit_reason, r.created_at, r.updated_at, opt(r.ended_at),
                     opt(r.deleted_at), r.pid, r.hostname, fmt::join(r.tags, ","), r.best_metric_name,
                     r.best_metric_mode, opt(r.best_metric_value), opt(r.best_metric_step), opt(r.path), r.alias);
}

namespace {

std::string VersionRow(const runtrack::ArtifactVersionInfo& v) {
  return fmt::format("{}:v{}|{}|{}|{}|{}|[{}]", v.name, v.version, v.status, v.size_bytes, v.num_files,
                     v.manifest_digest, fmt::join(v.aliases, ","));
}

std::string FilesRow(const runtrack::ArtifactFileList& list) {
  std::string out = list.artifact;
  for (const auto& f : list.files) out += fmt::format("|{}:{}:{}", f.path, f.size, f.digest);
  return out;
}

}  // namespace

runtrack::Status VerifyRuns(const service::RunCatalog& source, const service::RunCatalog& copy, const SideNames& sides,
                            const std::function<bool(const runtrack::RunSummary&)>& include, Verification* v) {
  runtrack::RunQuery all;
  all.include_deleted = true;
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, source.ListRuns(all));
  for (const auto& run : page.runs) {
    if (!include(run)) continue;
    ++v->runs;
    auto copied = copy.GetRun(run.id);
    if (!copied.ok()) {
      v->Mismatch(fmt::format("run {}: {}", run.id, copied.status().ToString()));
    } else if (ListingRow(copied->run) != ListingRow(run)) {
      v->Mismatch(fmt::format("run {}: {} has {} , {} {}", run.id, sides.copy, ListingRow(copied->run), sides.source,
                              ListingRow(run)));
    } else if (auto detail = source.GetRun(run.id); !detail.ok()) {
      return detail.status();
    } else if (copied->config != detail->config || copied->summary != detail->summary) {
      v->Mismatch(fmt::format("run {}: config or summary differ", run.id));
    }
  }
  return runtrack::Status::Ok();
}

runtrack::Status VerifyArtifacts(service::ArtifactRepository& source, service::ArtifactRepository& copy,
                                 const SideNames& sides, Verification* v) {
  RUNTRACK_ASSIGN_OR_RETURN(auto names, source.ListArtifacts(std::nullopt));
  for (const auto& name : names) {
    RUNTRACK_ASSIGN_OR_RETURN(auto versions, source.ListVersions(name.name, /*include_deleted=*/true));
    auto copied = copy.ListVersions(name.name, /*include_deleted=*/true);
    if (!copied.ok()) {
      v->Mismatch(fmt::format("artifact {}: {}", name.name, copied.status().ToString()));
      continue;
    }
    std::vector<std::string> want, got;
    for (const auto& ver : versions) want.push_back(VersionRow(ver));
    for (const auto& ver : *copied) got.push_back(VersionRow(ver));
    if (want != got)
      v->Mismatch(fmt::format("artifact {}: versions differ: {} [{}], {} [{}]", name.name, sides.copy,
                              fmt::join(got, " "), sides.source, fmt::join(want, " ")));
    for (const auto& ver : versions) {
      ++v->versions;
      if (ver.status != "ready") continue;  // a deleted version's files are not listed
      auto source_files = source.ListFiles(ver.name, ver.version);
      auto copy_files = copy.ListFiles(ver.name, ver.version);
      if (!source_files.ok()) return source_files.status();
      if (!copy_files.ok() || FilesRow(*copy_files) != FilesRow(*source_files))
        v->Mismatch(fmt::format("artifact {}:v{}: file lists differ", ver.name, ver.version));
    }
  }
  return runtrack::Status::Ok();
}

}  // namespace runicorn::viewer
