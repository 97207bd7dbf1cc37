// Store-wide user-alias shipping (docs/REMOTE.md "User aliases"). A run's artifact step ships the
// aliases on that run's versions while the run is shipped; an alias set, moved or removed later —
// after the run's Finish(), or by a process that has no run at all — is found here, on the store's
// shipper thread, and shipped without `runicorn sync`.
//
// Thread safety: one thread (the JournalShipper's) per AliasSweep; AliasChangesPending anywhere.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

#include "remote/artifact_client.h"
#include "remote/ship_step.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"

namespace runtrack::remote {

class AliasSweep {
 public:
  explicit AliasSweep(StoreLayout layout) : layout_(std::move(layout)) {}

  // One pass over the store's artifact names. A name whose alias table, version folders and shipped
  // records have not changed since an earlier pass looked at them (a few stats) is skipped; the
  // others get ShipNameStates (version deletes and restores), then ShipNameAliases with "on the server" = VersionMarkedShipped. `client` null: only look (the
  // server is known to be down) and answer kRetry when something would be sent.
  // kCaughtUp: nothing left to send (a change the server refused is reported once through
  // `refused` and not retried until that name's aliases change again); kRetry: stop, back off,
  // and pass again.
  StepOutcome Pass(ArtifactClient* client, ArtifactShipProgress* progress, std::string* refused);

  // A folder's identity and last change; `exists` false for an absent one.
  struct DirStamp {
    bool exists = false;
    long long ino = 0, mtime_ns = 0, ctime_ns = 0;
    bool operator==(const DirStamp&) const = default;
  };

 private:
  struct Seen {
    DirStamp aliases, shipped;
    // Version deletes and restores (version_state_shipping.h) change a v<N> folder, not the name's:
    // `versions` folds every v<N> folder's stamp together; `states` is .shipped-states.
    DirStamp versions, states;
    bool operator==(const Seen&) const = default;
  };
  const StoreLayout layout_;
  // Names looked at, with the stamps they had then. Only stamps older than the file system
  // clock's granularity are kept: a change in the same tick as the look would carry the same
  // stamp (the racy-timestamp problem), so a fresh one is looked at again next pass.
  std::map<std::pair<ArtifactType, std::string>, Seen> seen_;
};

// The alias changes of the store waiting to be shipped (PendingAliasChanges of every name, on
// versions VersionMarkedShipped), each as "<type>:<name>:<alias>:<version>:<set|remove>", and its
// version state changes (PendingStateChanges) as "<type>:<name>:v<N>:<state>", so two looks can be
// compared. Local reads only.
std::set<std::string> PendingAliasChangeKeys(const StoreLayout& layout);

}  // namespace runtrack::remote
