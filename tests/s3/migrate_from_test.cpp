// `runicorn migrate --from postgresql://… --objects s3://…`: the real binary, a private PostgreSQL
// 15 and a real Ceph RGW. A store goes out with `migrate --to` and comes back with `--from` into
// a new directory; the copy is compared with the original through the catalogs and the artifact
// stores (every point bit for bit, every artifact byte), never by diffing files.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "journal/journal_format.h"

#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_server.h"
#include "service/s3/s3_client.h"

namespace fs = std::filesystem;
namespace bj = boost::json;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/runicorn-s3-migfrom-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

Outcome Migrate(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const fs::path& scratch) {
  runicorn::testing::RunicornProcess migrate("migrate", args, env, scratch);
  const int code = migrate.Wait();
  return {code, migrate.out(), migrate.err()};
}

double Bits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}

// The values whose bits a lossy copy would change: NaN payloads, ±Inf, -0.0, denormals.
std::vector<double> OddValues() {
  return {Bits(0x7ff8000000000123ull), Bits(0xfff4000000000001ull), std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity(), -0.0, std::numeric_limits<double>::denorm_min(),
          0.1 + 0.2, -1e308};
}

// One team back end: a fresh database and bucket, and the environment the binary needs.
struct Backend {
  std::string conninfo, url;
  std::map<std::string, std::string> env;
};

Backend NewBackend(runicorn::testing::PgTestServer& pg, runicorn::testing::RgwTestServer& rgw, const fs::path& home,
                   const std::string& bucket) {
  Backend b;
  b.conninfo = pg.NewDatabase();
  REQUIRE_FALSE(b.conninfo.empty());
  S3Location loc;
  loc.bucket = bucket;
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  const runicorn::service::s3::S3Credentials creds{runicorn::testing::RgwTestServer::kAccessKey,
                                                   runicorn::testing::RgwTestServer::kSecretKey, ""};
  REQUIRE(S3Client(loc, creds).CreateBucket().ok());
  b.url = fmt::format("s3://{}/team?endpoint={}", bucket, rgw.endpoint());
  b.env = {{"AWS_ACCESS_KEY_ID", creds.access_key_id},
           {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key},
           {"HOME", home.string()}};
  return b;
}

// Three finished runs (one soft-deleted, one a v0.6 run with path and alias, one with stages and
// odd values), one still running, and artifacts: two versions of a model with an alias, a
// dataset version soft-deleted and one purged.
struct WrittenStore {
  std::vector<std::string> finished;
  std::unique_ptr<runtrack::Run> live;
};

WrittenStore WriteStore(const fs::path& root, const fs::path& scratch) {
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  WrittenStore w;
  for (int r = 0; r < 4; ++r) {
    runtrack::RunOptions o;
    o.project = "vision";
    o.name = fmt::format("resnet-{}", r);
    o.config = bj::object{{"lr", 0.001 * (r + 1)}, {"layers", 18 + r}, {"opt", bj::object{{"name", "adam"}}}};
    o.tags = {"migrate", r % 2 ? "odd" : "even"};
    if (r == 1) {
      o.path = "vision/resnet";
      o.alias = "baseline";
    }
    auto run = (*store)->CreateRun(o);
    REQUIRE(run.ok());
    REQUIRE((*run)->SetPrimaryMetric("loss", runtrack::MetricMode::kMin).ok());
    for (int step = 1; step <= 3000; ++step) {
      const double loss = std::exp(-step / 900.0) + 0.001 * (step % 7);
      if (r == 2) {
        const runtrack::MetricValue values[] = {{"loss", loss}, {"odd", OddValues()[step % 8]}};
        REQUIRE((*run)->Log(values, step, step % 3 ? "train" : "eval").ok());
      } else {
        REQUIRE((*run)->Log(step, "loss", loss).ok());
      }
      if (step % 10 == 0) REQUIRE((*run)->Log(step, "acc", 1.0 - std::exp(-step / 1200.0)).ok());
    }
    REQUIRE((*run)->Summary(bj::object{{"best_loss", 0.0123 * (r + 1)}, {"note", "ünïcode"}}).ok());
    if (r < 3) {
      REQUIRE((*run)->Finish(r == 2 ? runtrack::RunStatus::kFailed : runtrack::RunStatus::kFinished).ok());
      w.finished.push_back((*run)->id());
    } else {
      w.live = std::move(*run);
    }
  }
  auto artifacts = runtrack::ArtifactStore::Open(root);
  REQUIRE(artifacts.ok());
  auto log = [&](const std::string& name, runtrack::ArtifactType type, int n, const std::string& run) {
    const fs::path src = scratch / fmt::format("{}-{}.bin", name, n);
    std::string bytes(200 * 1024 + n * 77, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + n * 7) % 251);
    std::ofstream(src, std::ios::binary) << bytes;
    auto artifact = runtrack::Artifact::Create(name, type);
    REQUIRE(artifact.ok());
    REQUIRE(artifact->AddFile(src, "weights.bin").ok());
    auto v = artifacts->Log(*artifact, run);
    REQUIRE(v.ok());
    return *v;
  };
  REQUIRE(log("net", runtrack::ArtifactType::kModel, 1, w.finished[0]) == 1);
  REQUIRE(log("net", runtrack::ArtifactType::kModel, 2, w.finished[1]) == 2);
  REQUIRE(artifacts->SetAlias("net", "production", 1).ok());
  REQUIRE(artifacts->Use("net:v1", w.finished[2]).ok());
  REQUIRE(log("data", runtrack::ArtifactType::kDataset, 1, "") == 1);
  REQUIRE(log("data", runtrack::ArtifactType::kDataset, 2, "") == 2);
  REQUIRE(log("data", runtrack::ArtifactType::kDataset, 3, "") == 3);
  REQUIRE(artifacts->Delete("data", 1, runtrack::DeleteMode::kSoft).ok());
  REQUIRE(artifacts->Delete("data", 2, runtrack::DeleteMode::kPermanent).ok());
  return w;
}

// JSON with every object's keys sorted: PostgreSQL's JSONB keeps values, not key order (a
// documented difference of the copy), so config and summary are compared as values.
std::string Canonical(const bj::value& v) {
  if (!v.is_object()) {
    if (!v.is_array()) return bj::serialize(v);
    std::string out = "[";
    for (const auto& e : v.get_array()) out += Canonical(e) + ",";
    return out + "]";
  }
  std::map<std::string, std::string> sorted;
  for (const auto& [k, e] : v.get_object()) sorted[std::string(k)] = Canonical(e);
  std::string out = "{";
  for (const auto& [k, e] : sorted) out += k + ":" + e + ",";
  return out + "}";
}

// Everything a reader sees of a run, one string per run; points as their exact bits.
std::string RunImage(const runtrack::Catalog& catalog, const std::string& id) {
  auto detail = catalog.GetRun(id);
  REQUIRE(detail.ok());
  const runtrack::RunSummary& r = detail->run;
  std::string out = fmt::format(
      "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|corrupt={}\n", r.id, r.project, r.name,
      runtrack::RunStatusName(r.status), r.exit_reason, r.created_at, r.updated_at, r.ended_at.value_or(-1),
      r.deleted_at.value_or(-1), r.pid, r.hostname, fmt::join(r.tags, ","), r.best_metric_name, r.best_metric_mode,
      r.best_metric_value.value_or(-1), r.best_metric_step.value_or(-1), r.path.value_or("-"), r.alias,
      Canonical(detail->config) + Canonical(detail->summary), detail->journal_corrupt);
  for (const auto& m : detail->metrics) {
    out += fmt::format("metric {} count={} nonfinite={} steps={}..{}\n", m.name, m.count, m.non_finite_count,
                       m.min_step, m.max_step);
    auto series = catalog.ReadMetric(id, m.name);
    REQUIRE(series.ok());
    out += fmt::format("stages {}\n", fmt::join(series->stages, ","));
    for (const auto& p : series->points) {
      uint64_t wall, value;
      std::memcpy(&wall, &p.wall_time, 8);
      std::memcpy(&value, &p.value, 8);
      out += fmt::format("{} {:x} {:x} {}\n", p.step, wall, value, p.stage);
    }
  }
  return out;
}

// Every claimed number of every name with its state, exact manifest, aliases and uses, plus the
// bytes of every ready version's files read through a handle.
std::string ArtifactImage(const fs::path& root) {
  auto store = runtrack::ArtifactStore::Open(root);
  REQUIRE(store.ok());
  auto names = store->Export();
  REQUIRE(names.ok());
  std::string out;
  for (const auto& n : *names) {
    out += fmt::format("{} {}\n", n.name, runtrack::ArtifactTypeName(n.type));
    for (const auto& [alias, v] : n.aliases) out += fmt::format("alias {}={}\n", alias, v);
    for (const auto& v : n.versions) {
      out += fmt::format("v{} {} uses=[{}]\n{}\n", v.version, v.state, fmt::join(v.used_by_runs, ","), v.manifest_text);
      if (v.state != "ready") continue;
      auto handle = store->Use(fmt::format("{}:v{}", n.name, v.version), "");
      REQUIRE(handle.ok());
      auto bytes = handle->ReadFile("weights.bin");
      REQUIRE(bytes.ok());
      out += fmt::format("bytes {} sha={}\n", bytes->size(), std::hash<std::string>{}(*bytes));
    }
  }
  return out;
}

std::string StoreImage(const fs::path& root, const std::vector<std::string>& ids) {
  auto catalog = runtrack::Catalog::Open(root);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  std::string out;
  for (const auto& id : ids) out += RunImage(**catalog, id);
  return out;
}

}  // namespace

TEST_CASE("runicorn migrate --from brings PostgreSQL and the bucket back into a store point for point",
          "[s3][rgw][pg][migrate][migrate-from]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  TempDir tmp;
  const fs::path original = tmp.path / "original";
  WrittenStore written = WriteStore(original, tmp.path);
  {
    auto catalog = runtrack::Catalog::Open(original);
    REQUIRE(catalog.ok());
    REQUIRE((*catalog)->Refresh().ok());
    REQUIRE((*catalog)->SoftDelete(written.finished[1]).ok());
  }
  Backend team = NewBackend(pg, rgw, tmp.path, fmt::format("rt-migfrom-{}", ::getpid()));
  Outcome out = Migrate({"--to", team.conninfo, "--objects", team.url, "--storage", original.string()}, team.env, tmp.path);
  INFO(out.err);
  REQUIRE(out.exit_code == 0);

  const fs::path copy = tmp.path / "copy";
  const std::vector<std::string> from_args = {"--from", team.conninfo, "--objects", team.url,
                                              "--storage", copy.string(), "--json"};
  Outcome back = Migrate(from_args, team.env, tmp.path);
  INFO(back.err);
  REQUIRE(back.exit_code == 0);
  CHECK(back.err == "");
  bj::object report = bj::parse(back.out).as_object();
  CHECK(report.at("runs").to_number<int64_t>() == 4);
  CHECK(report.at("runs_copied").to_number<int64_t>() == 3);
  CHECK(report.at("runs_already_there").to_number<int64_t>() == 0);
  CHECK(report.at("runs_still_running").to_number<int64_t>() == 1);
  // loss + acc for two runs, loss + odd + acc for the third; a segment and a LOD object each.
  CHECK(report.at("segment_objects_downloaded").to_number<int64_t>() == 14);
  // net v1, v2; data v1 (deleted), v2 (purged), v3.
  CHECK(report.at("artifact_versions_copied").to_number<int64_t>() == 5);
  CHECK(report.at("aliases_copied").to_number<int64_t>() == 1);
  CHECK(report.at("chunks_downloaded").to_number<int64_t>() > 0);
  CHECK(report.at("chunks_already_there").to_number<int64_t>() == 0);
  CHECK(report.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);
  CHECK(report.at("verified").as_object().at("runs").to_number<int64_t>() == 3);
  CHECK(report.at("problems").as_array().empty());
  CHECK(bj::serialize(report.at("not_copied")) == R"(["text logs","run files"])");

  // Independently of the command's own check: every run as a reader sees it, every point's bits,
  // every artifact version, manifest and file byte.
  const std::string live_id = written.live->id();
  written.live.reset();  // not copied: a replica owns its tail
  const std::string want = StoreImage(original, written.finished);
  const std::string got = StoreImage(copy, written.finished);
  CHECK(want.find("metric odd count=3000 nonfinite=") != std::string::npos);
  CHECK(want.find("stages ,train,,,eval\n") != std::string::npos);  // ids shared with metric names
  CHECK(got == want);
  CHECK(ArtifactImage(copy) == ArtifactImage(original));
  CHECK_FALSE(fs::exists(runtrack::StoreLayout(copy).run_dir(live_id)));

  // Again: nothing is copied twice.
  Outcome again = Migrate(from_args, team.env, tmp.path);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  bj::object second = bj::parse(again.out).as_object();
  CHECK(second.at("runs_copied").to_number<int64_t>() == 0);
  CHECK(second.at("runs_already_there").to_number<int64_t>() == 3);
  CHECK(second.at("segment_objects_downloaded").to_number<int64_t>() == 0);
  CHECK(second.at("artifact_versions_copied").to_number<int64_t>() == 0);
  CHECK(second.at("artifact_versions_already_there").to_number<int64_t>() == 5);
  CHECK(second.at("chunks_downloaded").to_number<int64_t>() == 0);
  CHECK(second.at("chunk_bytes_downloaded").to_number<int64_t>() == 0);
  CHECK(second.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);

  // A run whose journal was never written (interrupted after its segments) and a lost chunk,
  // with the catalog rebuilt: a re-run installs exactly those, downloading no segment again.
  fs::remove_all(runtrack::StoreLayout(copy).catalog_dir());
  REQUIRE(fs::remove(runtrack::StoreLayout(copy).journal_path(written.finished[0])));
  fs::path lost_chunk;
  for (const auto& e : fs::recursive_directory_iterator(runtrack::StoreLayout(copy).blobs_dir()))
    if (e.is_regular_file() && lost_chunk.empty()) lost_chunk = e.path();
  REQUIRE(fs::remove(lost_chunk));
  Outcome repair = Migrate(from_args, team.env, tmp.path);
  INFO(repair.err);
  REQUIRE(repair.exit_code == 0);
  bj::object repaired = bj::parse(repair.out).as_object();
  CHECK(repaired.at("runs_copied").to_number<int64_t>() == 1);
  CHECK(repaired.at("runs_already_there").to_number<int64_t>() == 2);
  CHECK(repaired.at("segment_objects_downloaded").to_number<int64_t>() == 0);
  CHECK(repaired.at("chunks_downloaded").to_number<int64_t>() == 1);
  CHECK(repaired.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);
  CHECK(StoreImage(copy, written.finished) == want);
  CHECK(ArtifactImage(copy) == ArtifactImage(original));

  // The text report.
  Outcome text = Migrate(std::vector<std::string>(from_args.begin(), from_args.end() - 1), team.env, tmp.path);
  CHECK(text.exit_code == 0);
  CHECK(text.out.starts_with("runs: 4 in PostgreSQL: 0 copied, 3 already in the store, 1 still running (not copied)\n"
                             "metric segments: 0 objects downloaded (0 B)\n"
                             "artifacts: 0 versions copied, 5 already there, 0 aliases\n"));
  CHECK(text.out.find("): identical\n") == std::string::npos);
  CHECK(text.out.find("segment objects: identical\n") != std::string::npos);
  CHECK(text.out.ends_with("note: text logs and run files are not kept in PostgreSQL or the bucket; they are not copied\n"));

  // Killed part-way (SIGKILL as soon as the first segment file lands), then run again: complete.
  const fs::path killed = tmp.path / "killed";
  {
    std::vector<std::string> args = from_args;
    args[5] = killed.string();
    runicorn::testing::RunicornProcess migrate("migrate", args, team.env, tmp.path);
    const fs::path runs = runtrack::StoreLayout(killed).runs_dir();
    bool landed = false;
    for (int i = 0; i < 2000 && !landed && !migrate.Exited(); ++i) {
      std::error_code ec;
      for (fs::recursive_directory_iterator it(runs, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".seg") landed = true;
      if (!landed) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    migrate.Stop();  // SIGTERM: the command has no handler, so it ends where it is
  }
  Outcome resumed = Migrate([&] {
    std::vector<std::string> args = from_args;
    args[5] = killed.string();
    return args;
  }(), team.env, tmp.path);
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  bj::object third = bj::parse(resumed.out).as_object();
  CHECK(third.at("runs_copied").to_number<int64_t>() + third.at("runs_already_there").to_number<int64_t>() == 3);
  CHECK(third.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);
  CHECK(StoreImage(killed, written.finished) == want);
  CHECK(ArtifactImage(killed) == ArtifactImage(original));
}

TEST_CASE("runicorn migrate --from refuses bad sources and a busy store and leaves it untouched",
          "[s3][rgw][pg][migrate][migrate-from]") {
  TempDir tmp;
  const fs::path dest = tmp.path / "dest";
  const std::map<std::string, std::string> home = {{"HOME", tmp.path.string()}};

  Outcome with_password = Migrate({"--from", "postgresql://alice:secret@db.example/runs", "--objects",
                                   "s3://bucket/p?endpoint=http://127.0.0.1:9", "--storage", dest.string()},
                                  home, tmp.path);
  CHECK(with_password.exit_code == 2);
  CHECK(with_password.err.starts_with("runicorn migrate: --from: "));
  CHECK(with_password.err.find("secret") == std::string::npos);

  Outcome no_objects = Migrate({"--from", "host=/nonexistent dbname=x", "--storage", dest.string()}, home, tmp.path);
  CHECK(no_objects.exit_code == 2);
  CHECK(no_objects.err.starts_with("usage: runicorn migrate --from"));

  Outcome both = Migrate({"--from", "host=/nonexistent dbname=x", "--to", "host=/nonexistent dbname=y", "--objects",
                          "s3://bucket/p", "--storage", dest.string()},
                         home, tmp.path);
  CHECK(both.exit_code == 2);
  CHECK(both.err.starts_with("usage: runicorn migrate --to"));

  Outcome bad_bucket = Migrate({"--from", "host=/nonexistent dbname=x", "--objects", "s3://Bad_Bucket", "--storage",
                                dest.string()},
                               home, tmp.path);
  CHECK(bad_bucket.exit_code == 2);
  CHECK(bad_bucket.err == "runicorn migrate: --objects: bucket name may hold only a-z, 0-9, '.' and '-'\n");
  CHECK_FALSE(fs::exists(dest));

  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  Backend team = NewBackend(pg, rgw, tmp.path, fmt::format("rt-migfrom-bad-{}", ::getpid()));

  // A bucket that does not exist.
  const std::string missing = fmt::format("s3://rt-migfrom-none-{}/team?endpoint={}", ::getpid(), rgw.endpoint());
  Outcome no_bucket =
      Migrate({"--from", team.conninfo, "--objects", missing, "--storage", dest.string()}, team.env, tmp.path);
  INFO(no_bucket.err);
  CHECK(no_bucket.exit_code == 1);
  CHECK(no_bucket.err == fmt::format("runicorn migrate: s3: HeadBucket bucket rt-migfrom-none-{}: HTTP 404\n", ::getpid()));
  CHECK_FALSE(fs::exists(dest));

  // A database without the runicorn schema: nothing to copy, and nothing created in it.
  Outcome empty_db =
      Migrate({"--from", team.conninfo, "--objects", team.url, "--storage", dest.string()}, team.env, tmp.path);
  CHECK(empty_db.exit_code == 1);
  CHECK(empty_db.err ==
        "runicorn migrate: --from: the database holds no runicorn catalog (no runs table); nothing to copy\n");
  CHECK_FALSE(fs::exists(dest));

  // PostgreSQL unreachable.
  Outcome no_pg = Migrate({"--from", "host=/nonexistent dbname=x", "--objects", team.url, "--storage", dest.string()},
                          team.env, tmp.path);
  CHECK(no_pg.exit_code == 1);
  CHECK(no_pg.err.starts_with("runicorn migrate: PostgreSQL: "));
  CHECK_FALSE(fs::exists(dest));

  // A destination whose catalog another process holds (as a running viewer does): exit 3.
  const fs::path source = tmp.path / "source";
  std::vector<std::string> finished;
  {
    WrittenStore w = WriteStore(source, tmp.path);
    finished = w.finished;
  }
  REQUIRE(Migrate({"--to", team.conninfo, "--objects", team.url, "--storage", source.string()}, team.env, tmp.path)
              .exit_code == 0);
  REQUIRE(runtrack::Store::Open(dest).ok());  // an empty store
  auto held = runtrack::Catalog::Open(dest);
  INFO(held.status().ToString());
  REQUIRE(held.ok());
  Outcome busy = Migrate({"--from", team.conninfo, "--objects", team.url, "--storage", dest.string()}, team.env, tmp.path);
  CHECK(busy.exit_code == 3);
  CHECK(busy.err == fmt::format("runicorn migrate: the catalog of {} is held by another process (a running `runicorn "
                                "viewer`?); stop it first\n",
                                dest.string()));
  CHECK(fs::is_empty(runtrack::StoreLayout(dest).runs_dir()));
  CHECK_FALSE(fs::exists(runtrack::StoreLayout(dest).artifacts_dir()));
  CHECK_FALSE(fs::exists(runtrack::StoreLayout(dest).blobs_dir()));
}

namespace {

// FNV-1a over every point's step, wall-time bits, value bits and stage, read through the catalog
// in logging order one million points at a time (memory: one batch, not 10^7 points); `count`
// gets the points seen.
uint64_t PointChecksum(const fs::path& root, const std::string& id, uint64_t* count) {
  auto catalog = runtrack::Catalog::Open(root);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  };
  *count = 0;
  runtrack::MetricCursor cursor;
  for (;;) {
    auto batch = (*catalog)->ReadMetricSince(id, "loss", cursor, 1'000'000);
    REQUIRE(batch.ok());
    if (batch->points.empty()) break;
    for (const auto& p : batch->points) {
      mix(&p.step, 8);
      mix(&p.wall_time, 8);
      mix(&p.value, 8);
      mix(batch->stages.at(p.stage).data(), batch->stages.at(p.stage).size());
    }
    *count += batch->points.size();
    cursor = batch->cursor;
  }
  return h;
}

}  // namespace

// The issue's "10 M-point store": one finished run with a 10^7-point series goes out with
// `--to` and comes back with `--from`; every point is compared through both catalogs. The journal
// is written with the library's journal encoder (seconds, where 10^7 Run::Log calls take longer).
TEST_CASE("runicorn migrate --to and --from carry a 10^7-point run bit for bit", "[s3][rgw][pg][migrate][migrate-10m]") {
  RUNICORN_PG_TEST_SERVER(pg);
  RUNICORN_S3_TEST_SERVER(rgw);
  TempDir tmp;
  constexpr uint64_t kPoints = 10'000'000;
  const fs::path original = tmp.path / "original";
  std::string id;
  {
    auto store = runtrack::Store::Open(original);
    REQUIRE(store.ok());
    runtrack::RunOptions o;
    o.project = "scale";
    o.name = "ten-million";
    auto run = (*store)->CreateRun(o);
    REQUIRE(run.ok());
    id = (*run)->id();
    REQUIRE((*run)->Finish().ok());
  }
  const auto started = std::chrono::steady_clock::now();
  {
    // Start, names, the points in 1 MiB records, status: what a writer's journal holds.
    namespace journal = runtrack::journal;
    std::ofstream out(runtrack::StoreLayout(original).journal_path(id), std::ios::binary | std::ios::trunc);
    std::string buf = journal::EncodeHeader();
    journal::AppendRecord(&buf, journal::RecordType::kRunStart,
                          fmt::format(R"({{"id":"{}","project":"scale","name":"ten-million","created_at":1.7e9}})", id));
    journal::AppendRecord(&buf, journal::RecordType::kName, journal::EncodeName(1, journal::NameKind::kMetric, "loss"));
    journal::AppendRecord(&buf, journal::RecordType::kName, journal::EncodeName(2, journal::NameKind::kStage, "train"));
    const std::vector<double> odd = OddValues();
    std::string points;
    double t = 1.7e9;
    for (uint64_t s = 1; s <= kPoints; ++s) {
      t += 1e-3 * (1 + static_cast<double>(s % 5) / 10);
      const double v = s % 100'000 == 0 ? odd[(s / 100'000) % odd.size()]
                                        : static_cast<float>(2.3 * std::exp(-static_cast<double>(s) / 3e6) +
                                                             1e-3 * static_cast<double>(s % 97));
      journal::PackedPoint p{1, s % 2 ? 2u : 0u, static_cast<int64_t>(s), t, v};
      points.append(reinterpret_cast<const char*>(&p), sizeof p);
      if (points.size() >= (1u << 20) || s == kPoints) {
        journal::AppendRecord(&buf, journal::RecordType::kPoints, points);
        points.clear();
        out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
        buf.clear();
      }
    }
    journal::AppendRecord(&buf, journal::RecordType::kStatus,
                          fmt::format(R"({{"status":"finished","ended_at":{}}})", t + 1));
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
  const auto written = std::chrono::steady_clock::now();

  Backend team = NewBackend(pg, rgw, tmp.path, fmt::format("rt-migfrom-10m-{}", ::getpid()));
  Outcome out = Migrate({"--to", team.conninfo, "--objects", team.url, "--storage", original.string(), "--json"},
                        team.env, tmp.path);
  INFO(out.err);
  REQUIRE(out.exit_code == 0);
  CHECK(bj::parse(out.out).at("segment_objects_uploaded").to_number<int64_t>() == 2);
  const auto pushed = std::chrono::steady_clock::now();

  const fs::path copy = tmp.path / "copy";
  Outcome back = Migrate({"--from", team.conninfo, "--objects", team.url, "--storage", copy.string(), "--json"},
                         team.env, tmp.path);
  INFO(back.err);
  REQUIRE(back.exit_code == 0);
  bj::object report = bj::parse(back.out).as_object();
  CHECK(report.at("runs_copied").to_number<int64_t>() == 1);
  CHECK(report.at("segment_objects_downloaded").to_number<int64_t>() == 2);
  CHECK(report.at("verified").as_object().at("mismatches").to_number<int64_t>() == 0);
  const auto pulled = std::chrono::steady_clock::now();

  uint64_t want_count = 0, got_count = 0;
  const uint64_t want = PointChecksum(original, id, &want_count);
  const uint64_t got = PointChecksum(copy, id, &got_count);
  CHECK(want_count == kPoints);
  CHECK(got_count == kPoints);
  CHECK(got == want);
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  WARN(fmt::format("10^7 points: journal written {:.1f} s, migrate --to {:.1f} s, --from {:.1f} s, checksums {:.1f} s",
                   seconds(started, written), seconds(written, pushed), seconds(pushed, pulled),
                   seconds(pulled, std::chrono::steady_clock::now())));
}

#else
TEST_CASE("runicorn migrate --from needs the PostgreSQL back end", "[s3][migrate]") {
  WARN("skipped: built without libpq (libpq-dev)");
}
#endif  // RUNICORN_HAVE_PG
