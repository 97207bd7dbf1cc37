// Store: a store root on disk and the factory for Runs.
//
// The folders under a root are described (and spelled) by StoreLayout (layout.h): one folder per
// run, written by its process; the RocksDB catalog, owned by one Catalog at a time; artifact
// versions and their chunks, owned by the store's ArtifactStore.
//
// Opening a Store never opens the catalog, so any number of training processes may open the same
// root and create runs concurrently without coordinating.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/run.h"
#include "runtrack/status.h"

namespace runtrack {

class ArtifactStore;
namespace detail {
class StoreArtifacts;
}

struct StoreOptions {
  // Create the root and its layout if missing; otherwise a missing root is NotFound.
  bool create_if_missing = true;
  // Journal shipping to a central viewer (remote.h, docs/REMOTE.md): "http://host:port". Empty:
  // $RUNICORN_SERVER; both empty: off. Runs still write their local journal first; a background
  // thread sends it, so Log() never waits on the network.
  std::string server;
  std::string token;  // empty: $RUNICORN_TOKEN
  // How long Run::Finish() waits for the server to acknowledge the whole journal; what is left
  // is shipped later (by the next Store with a server, or `runicorn sync`).
  std::chrono::milliseconds finish_timeout{30000};
  // Unacknowledged journal bytes (all runs this Store ships) above which the shipper warns once
  // on stderr and in shipping_status(); it never blocks Log() or drops data. Unset:
  // $RUNICORN_SHIP_QUOTA_MB (MiB; a value that is not a whole number is InvalidArgument at Open),
  // else 1 GiB. 0: no quota.
  std::optional<uint64_t> ship_quota_bytes;
};

struct FlushPolicy {
  // The background flusher writes at least this often ...
  std::chrono::milliseconds flush_interval{200};
  // ... and as soon as this many bytes are waiting.
  size_t flush_bytes = 1u << 20;
};

struct RunOptions {
  std::string project = "default";
  std::string name = "default";
  // Empty: a fresh `YYYYMMDD_HHMMSS_<6 hex>` id. Given: must match ^[0-9]{8}_[0-9]{6}_[a-f0-9]{6}$
  // and not exist yet.
  std::string run_id;
  // Multi-process runs (remote.h, docs/REMOTE.md "Streams"): every process of the run uses the
  // same run_id (each in its own store root) and its own stream: its rank ("0", "1", ...) or
  // "host:pid". Stream "0" owns the run's status, summary and config. Empty: $RUNICORN_STREAM,
  // else "0". Only shipping uses it: the local journal is the same either way.
  std::string stream;
  boost::json::object config;
  std::vector<std::string> tags;
  FlushPolicy flush;
  // Runicorn v0.6's run path ("vision/resnet"; "" is the root), normalised and checked by
  // NormalizeRunPath (validation.h). When set, `project` and `name` are derived from it so that
  // v0.5 views keep working: project = its first segment, name = its second ("default" for a
  // missing one). Unset: a v0.5 run, which records no path.
  std::optional<std::string> path;
  // Runicorn v0.6's free-form display name for the run; empty: none.
  std::string alias;
  // Per-node system metrics (system.h, docs/SYSTEM.md "Per-node system metrics"): CPU, memory,
  // disk, network and GPUs sampled every `system_metrics_interval` into the run's journal stream
  // "system:<hostname>", shipped like any stream. Only one process per host and run samples
  // (the first to ask; other ranks on that host do not). Unset: $RUNICORN_SYSTEM_METRICS
  // ("1"/"true"/"yes"/"on" or "0"/"false"/"no"/"off"/empty; anything else is InvalidArgument).
  std::optional<bool> system_metrics;
  std::chrono::milliseconds system_metrics_interval{1000};
};

// The root a Store uses when none is given: $RUNICORN_DIR if set and non-empty, else ./.runicorn.
std::filesystem::path DefaultStoreRoot();

class Store {
 public:
  // `root` empty means DefaultStoreRoot(). Creates <root>/runs; fails with IOError when the root
  // cannot be created or written.
  static Result<std::unique_ptr<Store>> Open(std::filesystem::path root = {},
                                             const StoreOptions& options = {});

  ~Store();

  const std::filesystem::path& root() const { return layout_.root(); }
  const StoreLayout& layout() const { return layout_; }
  std::filesystem::path runs_dir() const { return layout_.runs_dir(); }
  std::filesystem::path run_dir(const std::string& run_id) const { return layout_.run_dir(run_id); }

  Result<std::unique_ptr<Run>> CreateRun(const RunOptions& options) const;

  // The store's artifacts, opened on first use (which records the store's chunking parameters,
  // see artifacts.h) and shared with every Run this Store creates, which may outlive the Store.
  Result<std::shared_ptr<ArtifactStore>> artifacts() const;

  // Journal shipping's backlog and quota state (remote.h); nullopt when this Store does not ship.
  std::optional<ShippingStatus> shipping_status() const;

 private:
  explicit Store(std::filesystem::path root);
  StoreLayout layout_;
  std::shared_ptr<detail::StoreArtifacts> artifacts_;
  std::shared_ptr<JournalShipper> shipper_;  // null unless shipping is on; shared with its Runs
  std::shared_ptr<const ShipperOptions> shipping_;  // with shipper_: for a run's system-metrics stream
  std::chrono::milliseconds finish_timeout_{30000};
};

}  // namespace runtrack
