// One step of artifact shipping (docs/REMOTE.md "Artifacts"): the next version a run produced or
// used that is not yet marked shipped goes to the server — missing-set query, the chunks it lacks
// (in parts of at most `part_bytes`), then the manifest — and is marked. ShipRunArtifacts
// (`runicorn sync`) and the JournalShipper thread both loop over it, as they do over ShipStep.
//
// Marks: <root>/artifacts/.lineage/runs/<run>/shipped/{produced,used}/<type>:<name>:v<N>, empty
// files beside the run's lineage index, written after the server accepted the manifest. A crash
// before the mark only repeats idempotent requests.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "remote/artifact_client.h"
#include "remote/ship_step.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"

namespace runtrack::remote {

// kCaughtUp: every version of the run with a published manifest is marked shipped (versions still
// being published are left for a later step). kProgress: one version was shipped; step again.
// kRetry / kFatal as ShipStep. `part_bytes` is halved when the server answers 413.
StepOutcome ArtifactStep(const StoreLayout& layout, std::string_view run_id, ArtifactClient& client,
                         size_t* part_bytes, ArtifactShipProgress* progress);

// User aliases (docs/REMOTE.md "User aliases"): what the server was last told about one artifact
// name is recorded in <name dir>/.shipped-aliases/<alias> (alias_table.h's format), written after
// each 200. A change is an alias that is new or moved onto a version `on_server` accepts (a PUT:
// one atomic replace on the server), or a recorded alias that is gone locally (a DELETE that only
// removes it if it still points at the recorded version). An alias on a version the server lacks
// is left to whoever ships that version.
struct AliasChange {
  std::string alias;
  int version = 0;  // set: the new target; removal: the version last shipped
  bool remove = false;
};
Result<std::vector<AliasChange>> PendingAliasChanges(const StoreLayout& store, ArtifactType type,
                                                     const std::string& name,
                                                     const std::function<bool(int)>& on_server);

// Sends PendingAliasChanges of one name and records each answer. Holds the store's alias-shipping
// lock (<root>/artifacts/.shipped-aliases.lock, flock) from reading the tables to the last record,
// so two shippers of one store (a Store's thread, another process's, `runicorn sync`) never
// interleave a request and its record. kCaughtUp when every change was applied (or there were
// none); kRetry / kFatal as ShipStep.
StepOutcome ShipNameAliases(const StoreLayout& store, ArtifactType type, const std::string& name,
                            const std::function<bool(int)>& on_server, ArtifactClient& client,
                            ArtifactShipProgress* progress);

// Whether version `version` of the name is on a server: a run that produced or used it has it
// marked shipped (the marks name no server).
bool VersionMarkedShipped(const StoreLayout& store, ArtifactType type, const std::string& name, int version);

}  // namespace runtrack::remote
