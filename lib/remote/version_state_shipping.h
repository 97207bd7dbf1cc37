// Shipping a writer's version deletes and restores (docs/REMOTE.md "Deleting and restoring a
// version"): a soft delete, a restore or a permanent delete of an artifact version in the
// writer's store is sent to the viewer as
//   PUT /api/ingest/artifacts/{name}/v{N}/state {"state": "deleted" | "ready" | "purged"}
// one idempotent request that sets the version's state there.
//
// What the server was last told about a version's state is recorded in
// <name dir>/.shipped-states/v<N> (the state's name and a newline), written after each accepted
// answer, and written "ready" when the version itself is first marked shipped. A version counts as
// on the server when it has that record, or (versions shipped before the record existed) when
// VersionMarkedShipped says so; a state change of any other version waits: it is never sent
// before the version's own manifest (a version deleted before it was shipped goes up first, as a
// ready version, then its delete). A missing record on a version on the server means "ready".
//
// Thread safety: any thread. Senders take the store's alias-shipping lock
// (<root>/artifacts/.shipped-aliases.lock) from reading the records to writing them, like the
// alias senders, so two shippers of one store never interleave a request and its record.
#pragma once

#include <string>
#include <vector>

#include "remote/artifact_client.h"
#include "remote/ship_step.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"

namespace runtrack::remote {

struct StateChange {
  int version = 0;
  std::string state;  // "ready", "deleted" or "purged": what the server is to be told
};

// The versions of one name whose local state differs from what the server was last told, lowest
// version first. Local reads only.
Result<std::vector<StateChange>> PendingStateChanges(const StoreLayout& store, ArtifactType type,
                                                     const std::string& name);

// Sends PendingStateChanges of one name and records each answer. A permanent delete answered 404
// is recorded as done (the version is not on the server, which is what was asked: it was purged
// there already, or purged here before it was ever sent). kCaughtUp when every change was
// applied (or there were none); kRetry / kFatal as ShipStep.
StepOutcome ShipNameStates(const StoreLayout& store, ArtifactType type, const std::string& name,
                           ArtifactClient& client, ArtifactShipProgress* progress);

// Records "ready" for a version the server just accepted (its manifest), unless a record exists
// (another run shipped it before, and the record says what the server has since been told).
Status RecordShippedReady(const StoreLayout& store, ArtifactType type, const std::string& name, int version);

// <name dir>/.shipped-states: a folder starting with '.' is neither a version nor an alias.
std::filesystem::path ShippedStatesDir(const StoreLayout& store, ArtifactType type, const std::string& name);

}  // namespace runtrack::remote
