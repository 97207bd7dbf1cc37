#include "remote/version_state_shipping.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "artifacts/layout.h"
#include "artifacts/version_registry.h"
#include "remote/artifact_shipper.h"
#include "runtrack/json_parse.h"
#include "util/files.h"

namespace runtrack::remote {
namespace {
namespace fs = std::filesystem;

fs::path RecordPath(const StoreLayout& store, ArtifactType type, const std::string& name, int version) {
  return ShippedStatesDir(store, type, name) / ("v" + std::to_string(version));
}

// The recorded state, or "" when there is no record (or it is unreadable: then the version is
// judged as if never recorded, and at worst an idempotent request is repeated).
std::string ReadRecord(const fs::path& path) {
  auto text = util::ReadFile(path);
  if (!text.ok()) return {};
  std::string s = std::move(*text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status WriteRecord(const StoreLayout& store, ArtifactType type, const std::string& name, int version,
                   const std::string& state) {
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(ShippedStatesDir(store, type, name)));
  // Not fsynced, like the alias record: a record rolled back by a machine crash only repeats an
  // idempotent request.
  return util::WriteFileAtomic(RecordPath(store, type, name, version), state + "\n", /*sync=*/false);
}

StepOutcome Fatal(Status s) {
  StepOutcome out;
  out.kind = StepOutcome::kFatal;
  out.error = std::move(s);
  return out;
}


bool Changed(const std::string& body) {
  boost::system::error_code ec;
  auto v = runtrack::ParseJson(body, ec);
  if (ec || !v.is_object()) return false;
  const auto* c = v.as_object().if_contains("changed");
  return c != nullptr && c->is_bool() && c->as_bool();
}

}  // namespace

fs::path ShippedStatesDir(const StoreLayout& store, ArtifactType type, const std::string& name) {
  return artifacts::Layout(store.root()).name_dir(type, name) / ".shipped-states";
}

Result<std::vector<StateChange>> PendingStateChanges(const StoreLayout& store, ArtifactType type,
                                                     const std::string& name) {
  const artifacts::Layout layout(store.root());
  RUNTRACK_ASSIGN_OR_RETURN(auto entries, artifacts::ScanVersions(layout.name_dir(type, name)));
  std::vector<StateChange> out;
  for (const auto& e : entries) {
    if (e.state == artifacts::VersionState::kPending) continue;  // not published: nothing to say yet
    const std::string local = artifacts::VersionStateName(e.state);
    std::string recorded = ReadRecord(RecordPath(store, type, name, e.version));
    if (recorded.empty()) {
      // A ready version needs nothing (the server has it ready, or not yet: then its shipping
      // makes it so); any other state only once the version itself is on the server.
      if (e.state == artifacts::VersionState::kReady || !VersionMarkedShipped(store, type, name, e.version)) continue;
      recorded = "ready";
    }
    if (recorded == local || recorded == "purged") continue;  // purged is final on both sides
    out.push_back({e.version, local});
  }
  return out;
}

Status RecordShippedReady(const StoreLayout& store, ArtifactType type, const std::string& name, int version) {
  if (!ReadRecord(RecordPath(store, type, name, version)).empty()) return Status::Ok();
  return WriteRecord(store, type, name, version, "ready");
}

StepOutcome ShipNameStates(const StoreLayout& store, ArtifactType type, const std::string& name,
                           ArtifactClient& client, ArtifactShipProgress* progress) {
  auto first = PendingStateChanges(store, type, name);
  if (!first.ok()) return Fatal(first.status());
  if (first->empty()) return {};  // the common case takes no lock
  const artifacts::Layout layout(store.root());
  auto lock = util::FileLock::Acquire(layout.artifacts_dir() / ".shipped-aliases.lock");
  if (!lock.ok()) return Fatal(lock.status());
  // Again under the lock: another shipper may have sent (and recorded) some of them meanwhile.
  auto changes = PendingStateChanges(store, type, name);
  if (!changes.ok()) return Fatal(changes.status());
  for (const StateChange& c : *changes) {
    IngestReply r = client.PutVersionState(name, c.version, c.state);
    ++progress->requests;
    const bool gone = r.status == 404 && c.state == "purged";
    if (r.status != 200 && !gone) return FailedReply(r, fmt::format("{}:v{} -> {}", name, c.version, c.state));
    if (r.status == 200 && Changed(r.body)) ++progress->state_changes;
    if (Status m = WriteRecord(store, type, name, c.version, c.state); !m.ok()) return Fatal(m);
  }
  return {};
}

}  // namespace runtrack::remote
