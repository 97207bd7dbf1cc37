// A viewer STARTED on a disk with no byte free (reliability issue 14, item 2): RocksDB cannot open
// the catalog read-write there (it writes a new MANIFEST and WAL on open), so the viewer opens it
// read-only, serves what it holds, says "degraded" in /api/health with the reason, refuses
// state changes that need the catalog with 503, and switches to the read-write catalog by itself
// once space returns — then indexes what was left. Each test mounts a small tmpfs (needs root).
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <catch2/catch.hpp>

#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "server_fixture.h"

using namespace runicorn;
using namespace runicorn::testing;
namespace fs = std::filesystem;
namespace bj = boost::json;

namespace {

// Polls `done` every 20 ms for up to `limit`; true once it holds. Waiting, not timing: the limit
// only bounds a failing test.
template <typename F>
bool Eventually(F done, std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// A tmpfs mounted on a directory for the lifetime of the object (needs CAP_SYS_ADMIN).
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& at, const std::string& options) : at_(at) {
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0) mounted_ = true;
    else error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  fs::path at_;
  bool mounted_ = false;
  std::string error_;
};

// Writes to `path` until the file system refuses; returns the errno that stopped it. tmpfs
// allocates whole pages, so afterwards not one byte is free.
int FillUp(const fs::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::string block(4096, 'f');
  int err = 0;
  while (err == 0)
    if (::write(fd, block.data(), block.size()) < 0) err = errno;
  ::close(fd);
  return err;
}

std::vector<std::string> ListedIds(HttpClient& c) {
  auto r = c.Get("/api/runs");
  REQUIRE(r.status == 200);
  std::vector<std::string> ids;
  const boost::json::value runs = r.json();  // kept alive: a range-for over r.json().as_array() would dangle
  for (const auto& run : runs.as_array()) ids.emplace_back(run.as_object().at("id").as_string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

// A store inside an 8 MiB tmpfs and a viewer over it wired as `runicorn viewer` wires it
// (AppContext::Open, background indexer at 50 ms with backoff up to 200 ms, Api, HttpServer).
struct FullDiskStart {
  runtrack::testing::TempDir dir, config;
  TmpfsMount tmpfs{dir.path(), "size=8m"};
  fs::path root = dir.path() / "store";
  fs::path filler = dir.path() / "filler";
  std::unique_ptr<runtrack::Store> store;
  std::unique_ptr<server::AppContext> ctx;
  std::unique_ptr<server::Indexer> indexer;
  std::unique_ptr<server::Api> api;
  std::unique_ptr<server::HttpServer> http;

  void OpenStore() {
    auto s = runtrack::Store::Open(root);
    REQUIRE(s.ok());
    store = std::move(*s);
    // The artifact store is never opened here, so the viewer's open finds no chunking.json and
    // cannot write one on the full disk: it must go on with the defaults.
  }
  // What a viewer indexed before it was stopped: a catalog holding every run flushed so far, and
  // `to_bin` (if given) in the recycle bin.
  void IndexNow(const std::string& to_bin = "") {
    auto catalog = runtrack::Catalog::Open(root);
    REQUIRE(catalog.ok());
    REQUIRE((*catalog)->Refresh().ok());
    if (!to_bin.empty()) REQUIRE((*catalog)->SoftDelete(to_bin).ok());
  }
  // A finished run of `steps` points of "loss", flushed to its journal.
  std::string FlushedRun(int64_t steps) {
    runtrack::RunOptions o;
    o.project = "p";
    auto run = store->CreateRun(o);
    REQUIRE(run.ok());
    for (int64_t step = 0; step < steps; ++step) REQUIRE((*run)->Log(step, "loss", 1.0).ok());
    REQUIRE((*run)->Finish().ok());
    return (*run)->id();
  }
  void StartViewer() {
    auto c = server::AppContext::Open(store->root(), config.path() / "config.json");
    INFO((c.ok() ? std::string("ok") : c.status().ToString()));
    REQUIRE(c.ok());  // before: "IO error: No space left on device" and the viewer exited
    ctx = std::move(*c);
    indexer = std::make_unique<server::Indexer>(*ctx, std::chrono::milliseconds(50), std::chrono::milliseconds(200));
    indexer->StartInBackground();
    server::ApiOptions a;
    a.rate_limits.enabled = false;
    api = std::make_unique<server::Api>(*ctx, a);
    server::ServerOptions o;
    o.port = 0;
    o.drain_timeout = std::chrono::seconds(2);
    auto h = server::HttpServer::Start(*api, o, false);
    REQUIRE(h.ok());
    http = std::move(*h);
  }
  // The viewer's shutdown order (viewer_command.cpp): server, indexer, then the catalog.
  void StopViewer() {
    http->Shutdown();
    http->Wait();
    http.reset();
    api.reset();
    indexer->Stop();
    indexer.reset();
    ctx.reset();
  }
  std::string IndexState() const { return ctx->storage->ingest_health().Get().state; }
};

#define SKIP_WITHOUT_TMPFS(v)                                                                        \
  if (!(v).tmpfs.mounted()) {                                                                        \
    WARN("SKIPPED: cannot mount a tmpfs here (" << (v).tmpfs.error() << "); run as root to check"); \
    return;                                                                                          \
  }

}  // namespace

TEST_CASE("a viewer started on a full disk serves the catalog read-only, degraded, and switches to read-write when space returns",
          "[disk_full][resilience][start_full_disk]") {
  FullDiskStart v;
  SKIP_WITHOUT_TMPFS(v);
  v.OpenStore();
  const std::string indexed = MakeRun(*v.store, "p", "indexed", 10);
  const std::string binned = v.FlushedRun(5);
  v.IndexNow(binned);
  // Flushed after the last index pass, then the disk filled up: data left to index.
  const std::string pending = v.FlushedRun(3000);
  REQUIRE(FillUp(v.filler) == ENOSPC);

  v.StartViewer();
  REQUIRE(v.ctx->storage->current_catalog()->read_only());
  CHECK(v.ctx->storage->current_catalog()->read_only_reason() == "no space left on device");
  HttpClient c(v.http->port());

  REQUIRE(Eventually([&] { return v.ctx->storage->ingest_health().Get().retry_ms > 0; }));
  auto h = c.Get("/api/health");
  REQUIRE(h.status == 200);
  INFO(h.body);
  auto o = h.json().as_object();
  CHECK(o.at("status").as_string() == "degraded");
  CHECK(o.at("reason").as_string() == "catalog read-only: no space left on device");
  CHECK(o.at("index").as_object().at("state").as_string() == "degraded");
  CHECK(o.at("index").as_object().at("catalog_reopens").as_int64() == 0);

  // What the catalog held is served; the run flushed after it is not (yet).
  CHECK(ListedIds(c) == std::vector<std::string>{indexed});
  auto rows = c.Get("/api/runs/" + indexed + "/metrics_step");
  REQUIRE(rows.status == 200);
  CHECK(rows.json().as_object().at("rows").as_array().size() == 10);
  CHECK(c.Get("/api/runs/" + pending).status == 404);

  // A state change that needs the catalog is refused with 503 and a detail, and changes nothing.
  auto del = c.Post("/api/runs/soft-delete", R"({"run_ids": [")" + indexed + R"("]})");
  CHECK(del.status == 503);
  CHECK(del.detail() ==
        "catalog read-only: no space left on device; changes are refused until it can be opened read-write "
        "again (a viewer retries by itself)");
  CHECK(!fs::exists(runtrack::StoreLayout(v.root).deleted_marker(indexed)));
  auto bin = c.Post("/api/recycle-bin/empty", R"({"confirm": true})");
  CHECK(bin.status == 503);
  CHECK_THAT(bin.detail(), Catch::StartsWith("catalog read-only: no space left on device;"));
  CHECK(fs::exists(runtrack::StoreLayout(v.root).journal_path(binned)));
  auto in_bin = c.Get("/api/recycle-bin");
  REQUIRE(in_bin.status == 200);
  CHECK_THAT(in_bin.body, Catch::Contains(binned));
  CHECK(ListedIds(c) == std::vector<std::string>{indexed});

  // Space returns: the indexer re-opens the catalog read-write by itself and indexes the rest.
  fs::remove(v.filler);
  REQUIRE(Eventually([&] { return v.IndexState() == "ok"; }));
  CHECK(!v.ctx->storage->current_catalog()->read_only());
  o = c.Get("/api/health").json().as_object();
  CHECK(o.at("status").as_string() == "ok");
  CHECK(!o.contains("reason"));
  CHECK(o.at("index").as_object().at("catalog_reopens").as_int64() == 1);
  auto expected = std::vector<std::string>{indexed, pending};
  std::sort(expected.begin(), expected.end());
  CHECK(ListedIds(c) == expected);
  auto detail = v.ctx->storage->GetRun(pending);
  REQUIRE(detail.ok());
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 3000);
  CHECK(detail->run.status == runtrack::RunStatus::kFinished);
  // Writes work again, through the same route that was refused.
  del = c.Post("/api/runs/soft-delete", R"({"run_ids": [")" + indexed + R"("]})");
  CHECK(del.status == 200);
  CHECK(del.json().as_object().at("deleted_count").as_int64() == 1);
  CHECK(fs::exists(runtrack::StoreLayout(v.root).deleted_marker(indexed)));
  const std::string later = v.FlushedRun(10);
  CHECK(Eventually([&] { return c.Get("/api/runs/" + later).status == 200; }));
  v.StopViewer();
}

TEST_CASE("a first start on a full disk with no catalog serves an empty view, degraded, and indexes once space returns",
          "[disk_full][resilience][start_full_disk]") {
  FullDiskStart v;
  SKIP_WITHOUT_TMPFS(v);
  v.OpenStore();
  const std::string pending = v.FlushedRun(500);  // never indexed: no catalog folder yet
  REQUIRE(!fs::exists(runtrack::StoreLayout(v.root).catalog_dir()));
  REQUIRE(FillUp(v.filler) == ENOSPC);

  v.StartViewer();
  HttpClient c(v.http->port());
  REQUIRE(Eventually([&] { return v.IndexState() == "degraded"; }));
  auto h = c.Get("/api/health");
  REQUIRE(h.status == 200);
  INFO(h.body);
  auto o = h.json().as_object();
  CHECK(o.at("status").as_string() == "degraded");
  CHECK(o.at("reason").as_string() == "catalog read-only: no space left on device; no catalog yet (an empty one is shown)");
  CHECK(ListedIds(c).empty());
  CHECK(c.Get("/api/runs/" + pending).status == 404);
  auto del = c.Post("/api/runs/soft-delete", R"({"run_ids": [")" + pending + R"("]})");
  CHECK(del.status == 503);
  CHECK_THAT(del.detail(), Catch::StartsWith("catalog read-only: no space left on device; no catalog yet"));

  fs::remove(v.filler);
  REQUIRE(Eventually([&] { return v.IndexState() == "ok"; }));
  CHECK(fs::exists(runtrack::StoreLayout(v.root).catalog_dir() / "CURRENT"));
  CHECK(ListedIds(c) == std::vector<std::string>{pending});
  auto detail = v.ctx->storage->GetRun(pending);
  REQUIRE(detail.ok());
  REQUIRE(detail->metrics.size() == 1);
  CHECK(detail->metrics[0].count == 500);
  v.StopViewer();
}

TEST_CASE("a catalog opened read-only on a full disk refuses every write before changing anything",
          "[disk_full][catalog][start_full_disk]") {
  FullDiskStart v;
  SKIP_WITHOUT_TMPFS(v);
  v.OpenStore();
  const std::string run = v.FlushedRun(20);
  v.IndexNow();
  REQUIRE(FillUp(v.filler) == ENOSPC);

  // Without the option (a CLI command) the open fails, as before.
  auto plain = runtrack::Catalog::Open(v.root);
  REQUIRE(!plain.ok());
  CHECK(plain.status().code() == runtrack::StatusCode::kIOError);
  CHECK_THAT(plain.status().message(), Catch::Contains("No space left on device"));

  runtrack::CatalogOptions options;
  options.read_only_on_full_disk = true;
  auto opened = runtrack::Catalog::Open(v.root, options);
  REQUIRE(opened.ok());
  runtrack::Catalog& catalog = **opened;
  REQUIRE(catalog.read_only());
  auto listed = catalog.ListRuns({});
  REQUIRE(listed.ok());
  REQUIRE(listed->total == 1);
  auto points = catalog.GetRun(run);
  REQUIRE(points.ok());
  CHECK(points->metrics.at(0).count == 20);

  const std::string refused =
      "catalog read-only: no space left on device; changes are refused until it can be opened read-write "
      "again (a viewer retries by itself)";
  for (runtrack::Status s : {catalog.Refresh().status(), catalog.Resume(), catalog.SoftDelete(run),
                             catalog.Restore(run), catalog.PermanentDelete(run)}) {
    CHECK(s.code() == runtrack::StatusCode::kBusy);
    CHECK(s.message() == refused);
  }
  // Nothing changed on disk: no deleted marker, the run folder still there, the run still listed.
  CHECK(!fs::exists(runtrack::StoreLayout(v.root).deleted_marker(run)));
  CHECK(fs::exists(runtrack::StoreLayout(v.root).journal_path(run)));
  CHECK(catalog.ListRuns({})->total == 1);

  // With space back the same options open it read-write, and writes go through.
  fs::remove(v.filler);
  opened->reset();
  auto writable = runtrack::Catalog::Open(v.root, options);
  REQUIRE(writable.ok());
  CHECK(!(*writable)->read_only());
  CHECK((*writable)->SoftDelete(run).ok());
}
