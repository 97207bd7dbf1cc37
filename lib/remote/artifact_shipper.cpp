#include "remote/artifact_shipper.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <thread>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "artifacts/alias_table.h"
#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/manifest.h"
#include "artifacts/sha256.h"
#include "artifacts/version_registry.h"
#include "remote/version_state_shipping.h"
#include "util/files.h"

namespace runtrack {
namespace remote {
namespace {
namespace fs = std::filesystem;
using artifacts::Layout;

// Where a version shipped for `relation` ("produced" / "used") of the run is marked.
fs::path MarkPath(const Layout& layout, const std::string& run_id, const char* relation, const std::string& key) {
  return layout.lineage_run_dir(run_id) / "shipped" / relation / key;
}

struct Pending {
  artifacts::IndexedVersion v;
  const char* relation;
  std::string key;
};

// The run's versions not yet marked, produced ones first (a version the run both logged and used
// goes once with its producer, then once more to record the use).
std::vector<Pending> Unshipped(const Layout& layout, const std::string& run_id) {
  std::vector<Pending> out;
  for (bool produced : {true, false}) {
    const char* relation = produced ? "produced" : "used";
    for (auto& v : artifacts::VersionsOfRun(layout, run_id, produced)) {
      std::string key = artifacts::LineageKey(v.type, v.name, v.version);
      if (::access(MarkPath(layout, run_id, relation, key).c_str(), F_OK) == 0) continue;
      out.push_back({std::move(v), relation, std::move(key)});
    }
  }
  return out;
}


StepOutcome Fatal(Status s) {
  StepOutcome out;
  out.kind = StepOutcome::kFatal;
  out.error = std::move(s);
  return out;
}

std::optional<boost::json::object> JsonObject(const std::string& body) {
  boost::system::error_code ec;
  auto v = runtrack::ParseJson(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::vector<std::string> Strings(const boost::json::object& o, const char* key) {
  std::vector<std::string> out;
  if (const auto* a = o.if_contains(key); a != nullptr && a->is_array())
    for (const auto& d : a->as_array())
      if (d.is_string()) out.emplace_back(d.as_string());
  return out;
}

// Uploads one chunk from the local store, verified first: a damaged local chunk must not be
// offered (the server would refuse it anyway, after the transfer).
StepOutcome UploadChunk(const Layout& layout, const std::string& hex, ArtifactClient& client, size_t* part_bytes,
                        ArtifactShipProgress* progress) {
  auto bytes = util::ReadFile(layout.blob_path(hex));
  if (!bytes.ok()) return Fatal(bytes.status());
  if (artifacts::Sha256Hex(*bytes) != hex)
    return Fatal(Status::Corruption(fmt::format("local chunk {} does not match its digest; not shipped", hex)));
  uint64_t offset = 0;
  while (offset < bytes->size()) {
    const size_t n = std::min<uint64_t>(*part_bytes, bytes->size() - offset);
    IngestReply r = client.PutChunk(hex, bytes->size(), offset,
                                    CompressIngestBody(std::string_view(*bytes).substr(offset, n)));
    ++progress->requests;
    if (r.status == 413 && *part_bytes > 4096) {
      *part_bytes /= 2;
      continue;
    }
    auto body = JsonObject(r.body);
    const auto* received = body ? body->if_contains("received") : nullptr;
    // boost::json reads a small non-negative number as int64.
    const bool counted = received != nullptr && (received->is_uint64() || (received->is_int64() && received->as_int64() >= 0));
    if ((r.status != 200 && r.status != 409) || !counted) return FailedReply(r, fmt::format("upload chunk {}", hex));
    progress->bytes_sent += r.status == 200 ? n : 0;
    if (const auto* stored = body->if_contains("stored"); stored != nullptr && stored->is_bool() && stored->as_bool())
      break;
    offset = std::min<uint64_t>(received->to_number<uint64_t>(), bytes->size());  // 409: the server's partial copy
  }
  ++progress->chunks_sent;
  return {};
}

// The chunks of `digests` the server lacks, asked in bounded batches.
StepOutcome AskMissing(const std::vector<std::string>& digests, ArtifactClient& client,
                       std::vector<std::string>* missing, ArtifactShipProgress* progress) {
  for (size_t i = 0; i < digests.size(); i += kMaxMissingQueryDigests) {
    std::vector<std::string> batch(digests.begin() + i,
                                   digests.begin() + std::min(digests.size(), i + kMaxMissingQueryDigests));
    IngestReply r = client.Missing(batch);
    ++progress->requests;
    auto body = JsonObject(r.body);
    if (r.status != 200 || !body) return FailedReply(r, "ask for missing chunks");
    for (auto& d : Strings(*body, "missing")) missing->push_back(std::move(d));
  }
  return {};
}

StepOutcome ShipVersion(const Layout& layout, const std::string& run_id, const Pending& p, ArtifactClient& client,
                        size_t* part_bytes, ArtifactShipProgress* progress) {
  auto text = util::ReadFile(layout.version_dir(p.v.type, p.v.name, p.v.version) / Layout::kManifest);
  if (!text.ok()) return Fatal(text.status());
  auto manifest = artifacts::ParseManifest(*text);
  if (!manifest.ok()) return Fatal(manifest.status());
  std::vector<std::string> digests;
  std::set<std::string> seen;
  for (const auto& f : manifest->files)
    for (const auto& c : f.chunks)
      if (seen.insert(c.sha256).second) digests.push_back(c.sha256);

  std::vector<std::string> missing;
  if (StepOutcome s = AskMissing(digests, client, &missing, progress); s.kind != StepOutcome::kCaughtUp) return s;
  const std::string body = CompressIngestBody(*text);
  const std::string used_by = std::string_view(p.relation) == "used" ? run_id : std::string();
  // The server may lose a chunk between the query and the manifest (its Gc): it then names what
  // it lacks, and those go up once more.
  for (int round = 0; round < 3; ++round) {
    for (const auto& hex : missing) {
      if (!artifacts::IsSha256Hex(hex) || !seen.count(hex))
        return Fatal(Status::Corruption(fmt::format("server asked for a chunk this version lacks: '{}'", hex)));
      if (StepOutcome s = UploadChunk(layout, hex, client, part_bytes, progress); s.kind != StepOutcome::kCaughtUp)
        return s;
    }
    IngestReply r = client.PutManifest(p.v.name, p.v.version, used_by, body);
    ++progress->requests;
    auto answer = JsonObject(r.body);
    if (r.status == 200 || r.status == 201) {
      if (r.status == 201) ++progress->versions_shipped;
      return {};
    }
    missing = answer ? Strings(*answer, "missing_chunks") : std::vector<std::string>{};
    if (r.status != 409 || missing.empty()) return FailedReply(r, fmt::format("register {}", p.key));
  }
  StepOutcome out;
  out.kind = StepOutcome::kRetry;
  out.error = Status::IOError(fmt::format("register {}: the server keeps losing its chunks", p.key));
  return out;
}

// What the server was last told about one artifact name's user aliases, written after each
// answer: <name dir>/.shipped-aliases/<alias> holding the version (alias_table.h's format, so
// ReadAliases reads it). A folder starting with '.' is neither a version nor an alias. The marks
// name no server, like the version marks.
fs::path ShippedAliasesDir(const Layout& layout, ArtifactType type, const std::string& name) {
  return layout.name_dir(type, name) / ".shipped-aliases";
}

// The user aliases of the names the run produced or used that differ from what was last shipped.
// An alias is shipped only when its version is one of the run's versions already on the server
// (marked), so the server can resolve it; an alias on any other version is left to the run that
// ships that version (or the store's alias sweep, alias_sweep.h).
StepOutcome ShipAliases(const Layout& layout, const std::string& run_id, ArtifactClient& client,
                        ArtifactShipProgress* progress) {
  std::map<std::pair<ArtifactType, std::string>, std::set<int>> names;  // -> the run's shipped versions
  for (bool produced : {true, false}) {
    const char* relation = produced ? "produced" : "used";
    for (auto& v : artifacts::VersionsOfRun(layout, run_id, produced)) {
      auto& shipped_versions = names[{v.type, v.name}];
      if (::access(MarkPath(layout, run_id, relation, artifacts::LineageKey(v.type, v.name, v.version)).c_str(),
                   F_OK) == 0)
        shipped_versions.insert(v.version);
    }
  }
  const StoreLayout store(layout.root());
  for (const auto& [key, shipped_versions] : names) {
    const auto& versions = shipped_versions;
    // Deletes and restores first: an alias may only be moved onto a version ready on the server.
    if (StepOutcome st = ShipNameStates(store, key.first, key.second, client, progress); st.kind != StepOutcome::kCaughtUp)
      return st;
    StepOutcome s = ShipNameAliases(store, key.first, key.second, [&](int v) { return versions.count(v) > 0; },
                                    client, progress);
    if (s.kind != StepOutcome::kCaughtUp) return s;
  }
  return {};
}

}  // namespace

Result<std::vector<AliasChange>> PendingAliasChanges(const StoreLayout& store, ArtifactType type,
                                                     const std::string& name,
                                                     const std::function<bool(int)>& on_server) {
  const Layout layout(store.root());
  RUNTRACK_ASSIGN_OR_RETURN(auto local, artifacts::ReadAliases(layout.aliases_dir(type, name)));
  RUNTRACK_ASSIGN_OR_RETURN(auto shipped, artifacts::ReadAliases(ShippedAliasesDir(layout, type, name)));
  std::vector<AliasChange> out;
  for (const auto& [alias, version] : local) {
    auto it = shipped.find(alias);
    if ((it != shipped.end() && it->second == version) || !on_server(version)) continue;
    out.push_back({alias, version, false});
  }
  for (const auto& [alias, version] : shipped)
    if (!local.count(alias)) out.push_back({alias, version, true});
  return out;
}

StepOutcome ShipNameAliases(const StoreLayout& store, ArtifactType type, const std::string& name,
                            const std::function<bool(int)>& on_server, ArtifactClient& client,
                            ArtifactShipProgress* progress) {
  const Layout layout(store.root());
  auto first = PendingAliasChanges(store, type, name, on_server);
  if (!first.ok()) return Fatal(first.status());
  if (first->empty()) return {};  // the common case takes no lock
  auto lock = util::FileLock::Acquire(layout.artifacts_dir() / ".shipped-aliases.lock");
  if (!lock.ok()) return Fatal(lock.status());
  // Again under the lock: another shipper may have sent (and recorded) some of them meanwhile.
  auto changes = PendingAliasChanges(store, type, name, on_server);
  if (!changes.ok()) return Fatal(changes.status());
  const fs::path record = ShippedAliasesDir(layout, type, name);
  for (const AliasChange& c : *changes) {
    if (!c.remove) {
      IngestReply r = client.PutAlias(name, c.alias, c.version);
      ++progress->requests;
      if (r.status != 200) return FailedReply(r, fmt::format("alias {}:{} -> v{}", name, c.alias, c.version));
      if (auto body = JsonObject(r.body); body && body->if_contains("changed") && body->at("changed").is_bool() &&
                                               body->at("changed").as_bool())
        ++progress->alias_changes;
      if (Status m = artifacts::WriteAlias(record, c.alias, c.version, /*sync=*/false); !m.ok()) return Fatal(m);
      continue;
    }
    IngestReply r = client.RemoveAlias(name, c.alias, c.version);
    ++progress->requests;
    if (r.status != 200) return FailedReply(r, fmt::format("remove alias {}:{}", name, c.alias));
    if (auto body = JsonObject(r.body); body && body->if_contains("removed") && body->at("removed").is_bool() &&
                                             body->at("removed").as_bool())
      ++progress->alias_changes;
    if (Status m = artifacts::RemoveAliasFile(record, c.alias); !m.ok() && m.code() != StatusCode::kNotFound)
      return Fatal(m);
  }
  return {};
}

bool VersionMarkedShipped(const StoreLayout& store, ArtifactType type, const std::string& name, int version) {
  const Layout layout(store.root());
  const std::string key = artifacts::LineageKey(type, name, version);
  // The producer is in the manifest (lineage_index.h: the reverse of `produced` is created_by_run).
  if (auto text = util::ReadFile(layout.version_dir(type, name, version) / Layout::kManifest); text.ok())
    if (auto m = artifacts::ParseManifest(*text); m.ok() && ValidateRunId(m->created_by_run).ok() &&
                                                  ::access(MarkPath(layout, m->created_by_run, "produced", key).c_str(),
                                                           F_OK) == 0)
      return true;
  for (const std::string& run : artifacts::RunsUsing(layout, type, name, version))
    if (::access(MarkPath(layout, run, "used", key).c_str(), F_OK) == 0) return true;
  return false;
}

StepOutcome ArtifactStep(const StoreLayout& store, std::string_view run_id, ArtifactClient& client,
                         size_t* part_bytes, ArtifactShipProgress* progress) {
  const Layout layout(store.root());
  const std::string id(run_id);
  for (const Pending& p : Unshipped(layout, id)) {
    const fs::path dir = layout.version_dir(p.v.type, p.v.name, p.v.version);
    const artifacts::VersionState state = artifacts::StateOf(dir);
    if (state == artifacts::VersionState::kPending) continue;  // a Log() still publishing: later
    if (state != artifacts::VersionState::kPurged) {  // a purged version has nothing left to send
      ++progress->versions_checked;
      StepOutcome s = ShipVersion(layout, id, p, client, part_bytes, progress);
      if (s.kind != StepOutcome::kCaughtUp) return s;
    }
    const fs::path mark = MarkPath(layout, id, p.relation, p.key);
    Status m = util::CreateDirectories(mark.parent_path());
    if (m.ok()) m = util::TouchFile(mark);
    if (!m.ok()) return Fatal(m);
    // What the server now holds of the version (its later deletes and restores go from here).
    if (state != artifacts::VersionState::kPurged)
      if (Status r = RecordShippedReady(store, p.v.type, p.v.name, p.v.version); !r.ok()) return Fatal(r);
    StepOutcome out;
    out.kind = StepOutcome::kProgress;
    return out;
  }
  // Every version is on the server: now the aliases that point at them.
  return ShipAliases(layout, id, client, progress);
}

}  // namespace remote

Result<ArtifactShipProgress> ShipRunArtifacts(const StoreLayout& layout, std::string_view run_id,
                                              const ShipperOptions& options, int max_attempts) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  if (options.server.empty()) return Status::InvalidArgument("no server to ship to (set RUNICORN_SERVER or --server)");
  remote::ArtifactClient client(options);
  size_t part = options.batch_bytes;
  ArtifactShipProgress progress;
  int failures = 0;
  for (;;) {
    remote::StepOutcome step = remote::ArtifactStep(layout, run_id, client, &part, &progress);
    switch (step.kind) {
      case remote::StepOutcome::kCaughtUp: return progress;
      case remote::StepOutcome::kProgress: failures = 0; continue;
      case remote::StepOutcome::kFatal: return step.error;
      case remote::StepOutcome::kRetry:
        if (max_attempts > 0 && ++failures >= max_attempts)
          return Status::IOError(fmt::format("run {} artifacts: gave up after {} failed attempts: {}", run_id,
                                             failures, step.error.message()));
        std::this_thread::sleep_for(remote::Backoff(options, failures, step.retry_after));
        continue;
    }
  }
}

}  // namespace runtrack
