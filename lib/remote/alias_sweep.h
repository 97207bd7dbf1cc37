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

  // One pass over the store's artifact names. A name whose alias table and shipped record have
  // not changed since an earlier pass looked at them (two stats) is skipped; the others get
  // ShipNameAliases with "on the server" = VersionMarkedShipped. `client` null: only look (the
  // server is known to be down) and answer kRetry when something would be sent.
  // kCaughtUp: nothing left to send (a change the server refused is reported once through
  // `refused` and not retried until that name's aliases change again); kRetry: stop, back off,
  // and pass again.
  StepOutcome Pass(ArtifactClient* client, ArtifactShipProgress* progress, std::string* refused);

 private:
  // A folder's identity and last change; `exists` false for an absent one.
  struct DirStamp {
    bool exists = false;
    long long ino = 0, mtime_ns = 0, ctime_ns = 0;
    bool operator==(const DirStamp&) const = default;
  };
  struct Seen {
    DirStamp aliases, shipped;
  };
  const StoreLayout layout_;
  // Names looked at, with the stamps they had then. Only stamps older than the file system
  // clock's granularity are kept: a change in the same tick as the look would carry the same
  // stamp (the racy-timestamp problem), so a fresh one is looked at again next pass.
  std::map<std::pair<ArtifactType, std::string>, Seen> seen_;
};

// The alias changes of the store waiting to be shipped (PendingAliasChanges of every name, on
// versions VersionMarkedShipped), each as "<type>:<name>:<alias>:<version>:<set|remove>", so two
// looks can be compared. Local reads only.
std::set<std::string> PendingAliasChangeKeys(const StoreLayout& layout);

}  // namespace runtrack::remote
