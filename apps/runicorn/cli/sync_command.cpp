// `runicorn sync [--server URL] [--token T] [--jobs N] [--attempts N] [--storage DIR] [ROOT|RUN...]`
//
// The offline path is the online path: each run goes through runtrack::ShipRun, the loop the
// shipper thread of a Store runs, so a finished, running or crashed run is shipped the same way,
// and an interrupted sync resumes from <run dir>/shipped. This command works on run folders (the
// journals), never on the catalog, so it does not go through StoreAccess or a local viewer.
#include "cli/sync_command.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "cli/cli.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/layout.h"
#include "runtrack/remote.h"
#include "runtrack/validation.h"

namespace runicorn::cli {
namespace fs = std::filesystem;
using runtrack::Status;

namespace {

constexpr const char* kSyncUsage =
    "usage: runicorn sync [--server URL] [--token TOKEN] [--jobs N] [--attempts N] [--storage DIR] [ROOT|RUN...]\n"
    "  ships every journal byte the server has not acknowledged: all runs of the store (or of each\n"
    "  ROOT given), or the RUN ids given, with their system-metrics streams; resumable. URL and\n"
    "  TOKEN default to $RUNICORN_SERVER and $RUNICORN_TOKEN. --attempts: failed requests in a row\n"
    "  before a run is given up (default 8).\n";

struct Target {
  runtrack::StoreLayout layout;
  std::string run_id;
  // The run's per-node system-metrics stream (docs/SYSTEM.md), shipped from its own store root
  // inside the run folder (StoreLayout::system_ship_root); it has no artifacts.
  bool system = false;
};

// The run, then its system-metrics stream when the run shipped one (a `shipped` file beside it),
// so a Finish() that timed out leaves nothing only `runicorn sync <run dir>/system-ship` sends.
void AddRun(const runtrack::StoreLayout& layout, const std::string& id, std::vector<Target>* out) {
  out->push_back({layout, id, false});
  const runtrack::StoreLayout system(layout.system_ship_root(id));
  std::error_code ec;
  if (fs::exists(system.journal_path(id), ec) && fs::exists(system.shipped_path(id), ec))
    out->push_back({system, id, true});
}

// Every run folder of `layout` with a journal, in name (= creation time) order.
runtrack::Result<std::vector<Target>> RunsOf(const runtrack::StoreLayout& layout) {
  std::error_code ec;
  std::vector<Target> out;
  fs::directory_iterator it(layout.runs_dir(), ec);
  if (ec) return Status::NotFound(fmt::format("no store at {}: {}", layout.root().string(), ec.message()));
  for (const auto& e : it) {
    std::string id = e.path().filename().string();
    if (!runtrack::ValidateRunId(id).ok()) continue;
    if (!fs::exists(layout.journal_path(id), ec)) continue;
    AddRun(layout, id, &out);
  }
  std::stable_sort(out.begin(), out.end(), [](const Target& a, const Target& b) { return a.run_id < b.run_id; });
  return out;
}

}  // namespace

int RunSync(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"help"});
  if (!args.ok()) return Fail(args.status());
  if (args->Has("help")) {
    std::fputs(kSyncUsage, stdout);
    return kExitOk;
  }
  if (auto unknown = args->Unknown({"server", "token", "jobs", "attempts", "storage", "help"}); !unknown.empty()) {
    std::fprintf(stderr, "runicorn sync: unknown option %s\n%s", unknown[0].c_str(), kSyncUsage);
    return kExitUsage;
  }
  runtrack::ShipperOptions options;
  options.server = args->Get("server").value_or("");
  options.token = args->Get("token").value_or("");
  options = runtrack::ShipperOptionsFromEnv(options);
  if (options.server.empty())
    return Fail(Status::InvalidArgument("no server: pass --server URL or set RUNICORN_SERVER"));
  int64_t jobs = 4, attempts = 8;
  for (auto [name, value] : {std::pair{"jobs", &jobs}, std::pair{"attempts", &attempts}}) {
    if (auto text = args->Get(name)) {
      auto v = ParseInt64(*text);
      if (!v.ok() || *v < 1 || *v > 1000)
        return Fail(Status::InvalidArgument(fmt::format("--{} must be an integer from 1 to 1000", name)));
      *value = *v;
    }
  }

  // Positionals: a run id of the store, or a directory that is a store root.
  const runtrack::StoreLayout store(ResolveStorage(*args));
  std::vector<Target> targets;
  if (args->positional().empty()) {
    auto runs = RunsOf(store);
    if (!runs.ok()) return Fail(runs.status());
    targets = std::move(*runs);
  }
  for (const std::string& p : args->positional()) {
    if (runtrack::ValidateRunId(p).ok()) {
      if (!fs::exists(store.journal_path(p)))
        return Fail(Status::NotFound(fmt::format("run {} has no journal in {}", p, store.root().string())));
      AddRun(store, p, &targets);
      continue;
    }
    std::error_code ec;
    if (!fs::is_directory(p, ec))
      return Fail(Status::InvalidArgument(fmt::format("'{}' is neither a run id nor a store folder", p)));
    auto runs = RunsOf(runtrack::StoreLayout(fs::absolute(p)));
    if (!runs.ok()) return Fail(runs.status());
    targets.insert(targets.end(), runs->begin(), runs->end());
  }

  // Runs are independent (one journal each), so they ship in parallel, `jobs` at a time.
  std::atomic<size_t> next{0};
  std::mutex out_mu;
  int failed = 0;
  uint64_t sent_total = 0;
  int shipped_runs = 0, shipped_streams = 0;
  auto worker = [&] {
    for (size_t i = next++; i < targets.size(); i = next++) {
      const Target& t = targets[i];
      auto r = runtrack::ShipRun(t.layout, t.run_id, options, static_cast<int>(attempts));
      // Then the artifact versions the run logged or used (docs/REMOTE.md "Artifacts"): only the
      // chunks the server lacks; versions already marked shipped cost no request.
      runtrack::Result<runtrack::ArtifactShipProgress> a = runtrack::ArtifactShipProgress{};
      if (r.ok() && !t.system) a = runtrack::ShipRunArtifacts(t.layout, t.run_id, options, static_cast<int>(attempts));
      const std::string label = t.system ? t.run_id + " (system metrics)" : t.run_id;
      std::lock_guard l(out_mu);
      if (!r.ok() || !a.ok()) {
        ++failed;
        std::fprintf(stderr, "runicorn sync: %s: %s\n", label.c_str(),
                     (!r.ok() ? r.status() : a.status()).message().c_str());
        continue;
      }
      if (a->versions_checked > 0)
        std::printf("%s: %d artifact version(s) on the server, %d new; sent %llu chunk(s), %s\n", t.run_id.c_str(),
                    a->versions_checked, a->versions_shipped, static_cast<unsigned long long>(a->chunks_sent),
                    FormatBytes(a->bytes_sent).c_str());
      if (a->alias_changes > 0)
        std::printf("%s: %d artifact alias change(s) applied on the server\n", t.run_id.c_str(), a->alias_changes);
      sent_total += r->bytes_sent;
      if (r->requests > 0) {
        ++(t.system ? shipped_streams : shipped_runs);
        std::printf("%s: sent %s, acknowledged up to byte %llu\n", label.c_str(), FormatBytes(r->bytes_sent).c_str(),
                    static_cast<unsigned long long>(r->acknowledged));
      }
      // A team back end had not sealed it beyond its owner's disk in time (docs/REMOTE.md).
      if (r->awaiting_seal)
        std::printf("%s: acknowledged, not yet confirmed sealed by the server; kept, and asked again by the next "
                    "sync\n", label.c_str());
    }
  };
  std::vector<std::thread> pool;
  for (int64_t i = 0; i < std::min<int64_t>(jobs, static_cast<int64_t>(targets.size())); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  // Runs and their system-metrics streams are counted apart; the bytes and failures are of both.
  const size_t streams = std::count_if(targets.begin(), targets.end(), [](const Target& t) { return t.system; });
  if (streams > 0) std::printf("%zu system-metrics stream(s) checked, %d shipped\n", streams, shipped_streams);
  std::printf("%zu runs checked, %d shipped (%s), %d failed\n", targets.size() - streams, shipped_runs,
              FormatBytes(sent_total).c_str(), failed);
  return failed > 0 ? kExitError : kExitOk;
}

}  // namespace runicorn::cli
