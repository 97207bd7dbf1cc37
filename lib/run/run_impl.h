// Run::Impl: the state behind a Run handle (see include/runtrack/run.h for the contract).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "journal/journal_writer.h"
#include "runtrack/remote.h"
#include "run/store_artifacts.h"
#include "system/node_stream.h"
#include "runtrack/run.h"
#include "util/files.h"

namespace runtrack {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameTable = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

class Run::Impl {
 public:
  Impl(std::string id, std::string project, std::string name, std::filesystem::path dir,
       std::shared_ptr<detail::StoreArtifacts> artifacts, util::FileLock lock,
       std::unique_ptr<journal::JournalWriter> writer)
      : id(std::move(id)), project(std::move(project)), name(std::move(name)), dir(std::move(dir)),
        artifacts(std::move(artifacts)), lock(std::move(lock)), writer(std::move(writer)) {}

  const std::string id, project, name;
  const std::filesystem::path dir;
  // The artifact store of the Store that created this run.
  const std::shared_ptr<detail::StoreArtifacts> artifacts;
  util::FileLock lock;
  std::unique_ptr<journal::JournalWriter> writer;
  // Journal shipping (remote.h): set when the Store ships; Finish() drains it for up to
  // `ship_timeout` after the journal is closed.
  std::shared_ptr<JournalShipper> shipper;
  std::chrono::milliseconds ship_timeout{30000};
  // Set by Store::CreateRun before the Run is handed out, constant afterwards.
  std::optional<std::string> path;
  std::string alias;
  std::filesystem::path assets_path;  // StoreLayout::assets_path
  std::mutex assets_mutex;            // serialises RecordAsset's read-modify-write
  // RunOptions::system_metrics: this host's system-metrics stream, or null (off, or another
  // process on this host samples the run). Stopped before the run's final record is written.
  std::unique_ptr<telemetry::NodeSystemStream> system_stream;

  // Everything below is guarded by the writer's buffer mutex (touched only inside Append()).
  NameTable metric_ids;
  NameTable stage_ids;
  uint32_t next_name_id = 1;
  std::string last_metric;       // one-entry cache in front of metric_ids for Log(step, name, v)
  uint32_t last_metric_id = 0;   // 0 is never a real id
  int64_t step_counter = 0;
  bool finished = false;

  // Returns the id of `name`, first queuing a kName record when it is new. Requires the mutex.
  uint32_t Intern(journal::PendingRecords& out, NameTable& table, journal::NameKind kind,
                  std::string_view name);
};

}  // namespace runtrack
