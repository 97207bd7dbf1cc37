#include "service/pg/pg_artifact_mirror.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "runtrack/layout.h"
#include "service/pg/pg_artifact_rows.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

namespace {

// The unreachable-catalog and unreachable-bucket failures end a pass (retried by the next one);
// everything else is about one version.
bool EndsPass(const Status& s) {
  return s.code() == StatusCode::kIOError || s.code() == StatusCode::kBusy || s.code() == StatusCode::kInternal;
}

// A local chunk's bytes: <root>/blobs/<hh>/<sha256> (docs/FORMATS-artifacts.md). NotFound when
// the file is not there.
Result<std::string> ReadLocalChunk(const std::filesystem::path& root, const std::string& hex) {
  const std::filesystem::path path = runtrack::StoreLayout(root).blobs_dir() / hex.substr(0, 2) / hex;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("chunk {} is not in this store's blobs/", hex));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(fmt::format("cannot read {}", path.string()));
  return bytes;
}

}  // namespace

Status PushVersionChunks(const std::filesystem::path& root, SharedChunkPool& pool,
                         const runtrack::ExportedArtifactVersion& v, PgArtifactMirrorReport* report, bool* complete) {
  *complete = false;
  std::vector<std::string> digests;
  for (const auto& [hex, size] : v.chunks) digests.push_back(hex);
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<std::string> missing, pool.Missing(digests));
  const std::string spec = ArtifactSpec(v.info.name, v.version);
  for (const auto& hex : missing) {
    auto bytes = ReadLocalChunk(root, hex);
    if (!bytes.ok()) {
      if (EndsPass(bytes.status())) return bytes.status();
      report->problems.push_back(fmt::format("{}: {}; not published", spec, bytes.status().message()));
      return Status::Ok();
    }
    auto put = pool.Put(hex, *bytes);
    if (!put.ok()) {
      if (put.status().code() != StatusCode::kInvalidArgument) return put.status();
      // The pool refuses bytes that do not hash to the chunk's name: a damaged local chunk.
      report->problems.push_back(
          fmt::format("{}: chunk {} in this store's blobs/ is damaged ({}); not published", spec, hex,
                      put.status().message()));
      return Status::Ok();
    }
    if (*put) {
      report->chunks_uploaded++;
      report->bytes_uploaded += bytes->size();
    }
  }
  *complete = true;
  return Status::Ok();
}

Status PgArtifactMirror::MirrorVersion(const runtrack::ExportedArtifactName& name,
                                       const runtrack::ExportedArtifactVersion& v, PgArtifactMirrorReport* report) {
  const std::string key = ArtifactSpec(name.name, v.version);
  // Claimed and not (yet) published, or its writer crashed: nothing to publish.
  if (v.state == "pending" || conflicts_.count(key)) return Status::Ok();
  auto it = versions_.find(key);
  if (it == versions_.end()) {
    if (v.state == "purged") {
      // Gone before this mirror saw it: whatever PostgreSQL holds under the number may be another
      // writer's, so it is left alone.
      versions_[key] = Mirrored{"purged", {}};
      return Status::Ok();
    }
    bool complete = false;
    RUNTRACK_RETURN_IF_ERROR(PushVersionChunks(root_, *pool_, v, report, &complete));
    if (!complete) return Status::Ok();
    auto published = repository_->PublishShipped(v, v.used_by_runs.empty() ? "" : v.used_by_runs.front());
    if (!published.ok()) {
      const Status& s = published.status();
      if (EndsPass(s)) return s;
      std::string message =
          s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kAlreadyExists
              ? fmt::format("{} in this replica's store conflicts with the team catalog: {}; it stays in this store "
                            "only and is not listed by the replicas",
                            key, s.message())
              : fmt::format("{} cannot be published: {}", key, s.message());
      conflicts_[key] = message;
      report->conflicts.push_back(std::move(message));
      return Status::Ok();
    }
    (*published ? report->versions_published : report->versions_present)++;
    Mirrored m{v.state, {}};
    if (!v.used_by_runs.empty()) m.uses.insert(v.used_by_runs.front());
    it = versions_.emplace(key, std::move(m)).first;
  }
  Mirrored& m = it->second;

  // A lifecycle change made in this store since the last pass. The target state already holding
  // in PostgreSQL (FailedPrecondition "already deleted" / "not deleted", NotFound once purged) is
  // done, not an error.
  if (v.state != m.state && m.state != "purged") {
    Status applied = v.state == "deleted" ? repository_->Delete(name.name, v.version, runtrack::DeleteMode::kSoft)
                     : v.state == "ready" ? repository_->Restore(name.name, v.version)
                                          : repository_->Delete(name.name, v.version, runtrack::DeleteMode::kPermanent);
    if (EndsPass(applied)) return applied;
    if (applied.ok()) report->lifecycle_changes++;
    m.state = v.state;
  }
  // "Uses" edges recorded locally since (a resend of the identical manifest adds one edge).
  if (m.state == "ready" || m.state == "deleted") {
    for (const auto& run : v.used_by_runs) {
      if (m.uses.count(run)) continue;
      auto used = repository_->PublishShipped(v, run);
      if (!used.ok() && EndsPass(used.status())) return used.status();
      m.uses.insert(run);
    }
  }
  return Status::Ok();
}

Status PgArtifactMirror::MirrorAliases(const runtrack::ExportedArtifactName& name, PgArtifactMirrorReport* report) {
  auto known = aliases_.find(name.name);
  const bool first_sight = known == aliases_.end();
  std::map<std::string, int> team;
  if (first_sight) {
    auto listed = repository_->Aliases(name.name);
    if (!listed.ok() && EndsPass(listed.status())) return listed.status();
    if (listed.ok()) team = std::move(*listed);
  }
  std::map<std::string, int> applied = first_sight ? std::map<std::string, int>{} : known->second;
  for (const auto& [alias, version] : name.aliases) {
    auto prev = applied.find(alias);
    if (prev != applied.end() && prev->second == version) continue;
    // First sight: an alias the team catalog already has (perhaps moved through the API since) stays.
    if (first_sight && team.count(alias)) {
      applied[alias] = version;
      continue;
    }
    const std::string key = ArtifactSpec(name.name, version);
    auto mirrored = versions_.find(key);
    if (mirrored == versions_.end()) {
      if (conflicts_.count(key)) applied[alias] = version;  // its target is local only: not shared
      continue;                                             // else: retried once the version is published
    }
    auto set = repository_->SetShippedAlias(name.name, alias, version);
    if (!set.ok() && EndsPass(set.status())) return set.status();
    if (set.ok() && *set) report->aliases_written++;
    applied[alias] = version;
  }
  for (auto it = applied.begin(); it != applied.end();) {
    if (name.aliases.count(it->first)) {
      ++it;
      continue;
    }
    // Removed locally: removed from the team catalog only while it still points where it did here.
    auto removed = repository_->RemoveShippedAlias(name.name, it->first, it->second);
    if (!removed.ok() && EndsPass(removed.status())) return removed.status();
    if (removed.ok() && *removed) report->aliases_written++;
    it = applied.erase(it);
  }
  aliases_[name.name] = std::move(applied);
  return Status::Ok();
}

Result<PgArtifactMirrorReport> PgArtifactMirror::Pass() {
  std::lock_guard lock(pass_mu_);
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::ArtifactStore store, runtrack::ArtifactStore::Open(root_));
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<runtrack::ExportedArtifactName> names, store.Export());
  PgArtifactMirrorReport report;
  for (const auto& name : names) {
    for (const auto& v : name.versions) RUNTRACK_RETURN_IF_ERROR(MirrorVersion(name, v, &report));
    RUNTRACK_RETURN_IF_ERROR(MirrorAliases(name, &report));
  }
  return report;
}

void PgArtifactMirror::StartInBackground(std::chrono::milliseconds period) {
  background_.Start(period, [this, last_error = std::string(), reported = std::set<std::string>()]() mutable {
    auto report = Pass();
    if (!report.ok()) {
      if (report.status().message() != last_error) {
        last_error = report.status().message();
        std::fprintf(stderr, "runicorn viewer: artifact mirror: %s (retrying)\n", last_error.c_str());
      }
    } else {
      last_error.clear();
      for (const auto& c : report->conflicts) std::fprintf(stderr, "runicorn viewer: artifact mirror: %s\n", c.c_str());
      // A problem is retried every pass: printed once until it changes.
      for (const auto& p : report->problems)
        if (reported.insert(p).second) std::fprintf(stderr, "runicorn viewer: artifact mirror: %s\n", p.c_str());
    }
  });
}

void PgArtifactMirror::Stop() { background_.Stop(); }

}  // namespace runicorn::service::pg
