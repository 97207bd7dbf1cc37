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
#include <string_view>

#include "remote/artifact_client.h"
#include "remote/ship_step.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/layout.h"

namespace runtrack::remote {

// kCaughtUp: every version of the run with a published manifest is marked shipped (versions still
// being published are left for a later step). kProgress: one version was shipped; step again.
// kRetry / kFatal as ShipStep. `part_bytes` is halved when the server answers 413.
StepOutcome ArtifactStep(const StoreLayout& layout, std::string_view run_id, ArtifactClient& client,
                         size_t* part_bytes, ArtifactShipProgress* progress);

}  // namespace runtrack::remote
