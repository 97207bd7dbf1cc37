#include "util/json.h"
#include "runtrack/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "run/run_impl.h"
#include "run/store_artifacts.h"
#include "runtrack/remote.h"
#include "system/node_stream.h"
#include "util/files.h"
#include "util/validation.h"

namespace runtrack {
namespace fs = std::filesystem;

fs::path DefaultStoreRoot() {
  const char* env = std::getenv("RUNICORN_DIR");
  if (env != nullptr && *env != '\0') return fs::path(env);
  return fs::path(".runicorn");
}

Result<std::unique_ptr<Store>> Store::Open(fs::path root, const StoreOptions& options) {
  if (root.empty()) root = DefaultStoreRoot();
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec);
  if (ec) return Status::IOError(fmt::format("resolve store root {}: {}", root.string(), ec.message()));
  const StoreLayout layout(absolute);
  if (!fs::exists(layout.runs_dir(), ec)) {
    if (!options.create_if_missing)
      return Status::NotFound(fmt::format("no store at {}", absolute.string()));
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(layout.runs_dir()));
  }
  if (::access(layout.runs_dir().c_str(), W_OK | X_OK) != 0)
    return util::ErrnoStatus("store root is not writable:", layout.runs_dir());
  std::unique_ptr<Store> store(new Store(absolute));
  ShipperOptions shipping = ShipperOptionsFromEnv({.server = options.server, .token = options.token});
  if (!shipping.server.empty()) {
    if (options.ship_quota_bytes) {
      shipping.quota_bytes = *options.ship_quota_bytes;
    } else {
      RUNTRACK_ASSIGN_OR_RETURN(shipping.quota_bytes, ShipQuotaFromEnv(shipping.quota_bytes));
    }
    store->shipping_ = std::make_shared<const ShipperOptions>(shipping);
    store->shipper_ = std::make_shared<JournalShipper>(layout, std::move(shipping));
  }
  store->finish_timeout_ = options.finish_timeout;
  return store;
}

Store::Store(fs::path root)
    : layout_(std::move(root)), artifacts_(std::make_shared<detail::StoreArtifacts>(layout_.root())) {}

Store::~Store() {
  // An alias set, moved or removed through this Store ships on the shipper thread within a round;
  // a Store closed right after one (a script that only moves an alias) waits for it as
  // Run::Finish() waits for the journal, at most finish_timeout. Nothing waiting: no wait.
  if (!shipper_) return;
  if (Status s = shipper_->DrainAliases(finish_timeout_); !s.ok())
    std::fprintf(stderr, "runtrack: %s\n", s.message().c_str());
}

std::optional<ShippingStatus> Store::shipping_status() const {
  if (!shipper_) return std::nullopt;
  return shipper_->status();
}

Result<std::shared_ptr<ArtifactStore>> Store::artifacts() const { return artifacts_->Get(); }

namespace {

std::string NewRunId() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char stamp[16];
  std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &local);
  return fmt::format("{}_{:06x}", stamp, rng() & 0xFFFFFF);
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// RunOptions::path's v0.5 view: project = first segment, name = second ("default" if missing).
void DeriveProjectAndName(const std::string& path, RunOptions* o) {
  std::string_view rest = path;
  auto next = [&rest]() -> std::string {
    if (rest.empty()) return "default";
    size_t slash = rest.find('/');
    std::string segment(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    return segment;
  };
  o->project = next();
  o->name = next();
}

Status ValidateRunOptions(const RunOptions& o) {
  if (!o.alias.empty()) RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("alias", o.alias));
  RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("project", o.project));
  RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("run name", o.name));
  for (const std::string& tag : o.tags) RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("tag", tag));
  if (!o.run_id.empty()) RUNTRACK_RETURN_IF_ERROR(ValidateRunId(o.run_id));
  return Status::Ok();
}

// RunOptions::system_metrics, else $RUNICORN_SYSTEM_METRICS.
Result<bool> SystemMetricsWanted(const RunOptions& o) {
  if (o.system_metrics) return *o.system_metrics;
  const char* env = std::getenv("RUNICORN_SYSTEM_METRICS");
  std::string v = env != nullptr ? env : "";
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v.empty() || v == "0" || v == "false" || v == "no" || v == "off") return false;
  return Status::InvalidArgument(fmt::format(
      "RUNICORN_SYSTEM_METRICS must be 1/true/yes/on or 0/false/no/off, got '{}'",
      util::IsValidUtf8(v) ? v.substr(0, 40) : "<binary>"));
}

// Claims <runs>/<id> with mkdir, which succeeds for exactly one creator.
Result<std::string> ClaimRunDir(const fs::path& runs_dir, const std::string& requested) {
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string id = requested.empty() ? NewRunId() : requested;
    if (::mkdir((runs_dir / id).c_str(), 0755) == 0) return id;
    if (errno != EEXIST) return util::ErrnoStatus("create run directory", runs_dir / id);
    if (!requested.empty()) return Status::AlreadyExists(fmt::format("run {} already exists", id));
  }
  return Status::Internal("could not find a free run id after 64 attempts");
}

}  // namespace

Result<std::unique_ptr<Run>> Store::CreateRun(const RunOptions& requested) const {
  RunOptions options = requested;
  if (options.path) {
    RUNTRACK_ASSIGN_OR_RETURN(options.path, NormalizeRunPath(*options.path));
    DeriveProjectAndName(*options.path, &options);
  }
  RUNTRACK_RETURN_IF_ERROR(ValidateRunOptions(options));
  RUNTRACK_ASSIGN_OR_RETURN(const bool system_metrics, SystemMetricsWanted(options));
  RUNTRACK_ASSIGN_OR_RETURN(std::string id, ClaimRunDir(runs_dir(), options.run_id));
  fs::path dir = run_dir(id);
  auto cleanup = [&](Status s) {
    std::error_code ec;
    fs::remove_all(dir, ec);  // nothing partial stays behind
    return s;
  };

  // The lock is taken before the journal exists, so an indexer that sees a journal and a free
  // lock knows the writer is gone.
  auto lock = util::FileLock::Acquire(layout_.lock_path(id));
  if (!lock.ok()) return cleanup(lock.status());
  auto writer = journal::JournalWriter::Create(
      layout_.journal_path(id), {options.flush.flush_interval, options.flush.flush_bytes});
  if (!writer.ok()) return cleanup(writer.status());

  boost::json::array tags;
  for (const std::string& t : options.tags) tags.emplace_back(t);
  boost::json::object start{{"id", id},
                            {"project", options.project},
                            {"name", options.name},
                            {"created_at", util::NowSeconds()},
                            {"config", options.config},
                            {"tags", std::move(tags)},
                            {"pid", static_cast<int64_t>(::getpid())},
                            {"hostname", HostName()}};
  if (options.path) start["path"] = *options.path;
  if (!options.alias.empty()) start["alias"] = options.alias;
  std::string payload = util::SerializeJson(start);
  (*writer)->Append([&](journal::PendingRecords& out) {
    out.Add(journal::RecordType::kRunStart, std::move(payload));
  });
  Status flushed = (*writer)->Flush(/*sync=*/false);  // make the run visible right away
  if (!flushed.ok()) return cleanup(flushed);
  // After the run's own journal, so an indexer never sees a stream of a run it cannot list.
  std::unique_ptr<telemetry::NodeSystemStream> system_stream;
  if (system_metrics) {
    telemetry::NodeStreamOptions n;
    n.interval = options.system_metrics_interval;
    if (shipping_) n.shipping = *shipping_;
    auto started = telemetry::NodeSystemStream::Start(layout_, id, std::move(n));
    if (!started.ok()) return cleanup(started.status());
    system_stream = std::move(started).value();  // null: another process on this host samples it
  }

  auto impl = std::make_unique<Run::Impl>(id, options.project, options.name, dir, artifacts_,
                                          std::move(lock).value(), std::move(writer).value());
  impl->path = options.path;
  impl->alias = options.alias;
  impl->assets_path = layout_.assets_path(id);
  impl->system_stream = std::move(system_stream);
  if (shipper_) {
    // After the start record is in the file, so the first PUT carries header + RunStart.
    std::string stream = options.stream;
    if (const char* env = std::getenv("RUNICORN_STREAM"); stream.empty() && env != nullptr) stream = env;
    if (stream.empty()) stream = std::string(kDefaultJournalStream);
    if (Status s = shipper_->Track(id, stream); !s.ok()) return cleanup(s);
    impl->shipper = shipper_;
    impl->ship_timeout = finish_timeout_;
  }
  return std::make_unique<Run>(std::move(impl));
}

}  // namespace runtrack
