// runtrack/store_install.h without a gateway: what `runicorn migrate --from` installs, taken
// here from a second local store, and what it refuses (nothing visible is left behind).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "runtrack/store_install.h"

namespace {
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/runicorn-install-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A finished, sealed run with a staged metric; its id.
std::string SealedRun(const fs::path& root) {
  auto store = runtrack::Store::Open(root);
  REQUIRE(store.ok());
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "n";
  o.config = boost::json::object{{"lr", 0.5}};
  auto run = (*store)->CreateRun(o);
  REQUIRE(run.ok());
  for (int s = 1; s <= 5000; ++s) {
    const runtrack::MetricValue v[] = {{"loss", s % 97 == 0 ? -0.0 : std::sqrt(s)}};
    REQUIRE((*run)->Log(v, s, s % 2 ? "train" : "").ok());
  }
  REQUIRE((*run)->Summary(boost::json::object{{"best", 1}}).ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  auto catalog = runtrack::Catalog::Open(root);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  REQUIRE((*catalog)->SealFinishedRuns().ok());
  return id;
}

}  // namespace

TEST_CASE("a run installed from its sealed objects reads back as the original", "[migrate-from][install]") {
  TempDir tmp;
  const fs::path from = tmp.path / "from", to = tmp.path / "to";
  const std::string id = SealedRun(from);
  REQUIRE(runtrack::Store::Open(to).ok());
  const runtrack::StoreLayout src(from), dst(to);

  runtrack::InstalledRun run;
  std::vector<runtrack::SealedObjectRef> refs;
  std::string want;
  {
    auto catalog = runtrack::Catalog::Open(from);
    REQUIRE(catalog.ok());
    auto all = (*catalog)->ListSealedObjects();
    REQUIRE(all.ok());
    REQUIRE(all->size() == 1);
    refs = *all;
    auto detail = (*catalog)->GetRun(id);
    REQUIRE(detail.ok());
    run.run = detail->run;
    run.config = detail->config;
    run.summary = detail->summary;
    auto points = (*catalog)->ReadMetric(id, "loss");
    REQUIRE(points.ok());
    want = fmt::format("{} {} {}", detail->run.updated_at, fmt::join(points->stages, ","), points->points.size());
    for (const auto& p : points->points) want += fmt::format(" {}:{}:{}:{}", p.step, p.wall_time, p.value, p.stage);
  }
  const runtrack::SealedObjectRef& ref = refs.front();
  const std::string segment = ReadAll(src.segment_path(id, ref.series, ref.point_count));
  const std::string lod = ReadAll(src.lod_path(id, ref.series, ref.point_count));

  // A damaged object is refused and not written.
  std::string damaged = segment;
  damaged[100] ^= 0x40;
  auto bad = runtrack::InstallSealedObject(dst, ref, runtrack::SealedObjectKind::kSegment, damaged);
  CHECK(bad.status().code() == runtrack::StatusCode::kCorruption);
  CHECK_FALSE(fs::exists(dst.segment_path(id, ref.series, ref.point_count)));

  // The journal names only installed, matching segments: nothing is written otherwise.
  auto early = runtrack::InstallRunFromSealedObjects(dst, run, refs);
  CHECK(early.status().code() == runtrack::StatusCode::kNotFound);
  CHECK_FALSE(fs::exists(dst.journal_path(id)));

  REQUIRE(*runtrack::InstallSealedObject(dst, ref, runtrack::SealedObjectKind::kSegment, segment));
  REQUIRE(*runtrack::InstallSealedObject(dst, ref, runtrack::SealedObjectKind::kLod, lod));
  CHECK_FALSE(*runtrack::InstallSealedObject(dst, ref, runtrack::SealedObjectKind::kLod, lod));  // already there

  runtrack::SealedObjectRef wrong = ref;
  wrong.footer_crc32c ^= 1;
  auto mismatch = runtrack::InstallRunFromSealedObjects(dst, run, {wrong});
  CHECK(mismatch.status().code() == runtrack::StatusCode::kCorruption);
  CHECK_FALSE(fs::exists(dst.journal_path(id)));

  runtrack::InstalledRun running = run;
  running.run.status = runtrack::RunStatus::kRunning;
  auto live = runtrack::InstallRunFromSealedObjects(dst, running, refs);
  CHECK(live.status().ToString() ==
        fmt::format("failed_precondition: run {} is still running: its newest points are not in sealed segments yet", id));

  REQUIRE(*runtrack::InstallRunFromSealedObjects(dst, run, refs));
  CHECK_FALSE(*runtrack::InstallRunFromSealedObjects(dst, run, refs));  // has a journal: left alone

  auto catalog = runtrack::Catalog::Open(to);
  REQUIRE(catalog.ok());
  REQUIRE((*catalog)->Refresh().ok());
  auto detail = (*catalog)->GetRun(id);
  REQUIRE(detail.ok());
  CHECK_FALSE(detail->journal_corrupt);
  CHECK(detail->config == run.config);
  CHECK(detail->summary == run.summary);
  CHECK(detail->run.best_metric_value == run.run.best_metric_value);
  auto points = (*catalog)->ReadMetric(id, "loss");
  REQUIRE(points.ok());
  std::string got = fmt::format("{} {} {}", detail->run.updated_at, fmt::join(points->stages, ","), points->points.size());
  for (const auto& p : points->points) got += fmt::format(" {}:{}:{}:{}", p.step, p.wall_time, p.value, p.stage);
  CHECK(got == want);
  auto sealed = (*catalog)->ListSealedObjects();
  REQUIRE(sealed.ok());
  CHECK(*sealed == refs);  // the run is sealed here too, on the same objects
}

TEST_CASE("artifact names are installed with their exact manifests and refused when chunks or states disagree",
          "[migrate-from][install]") {
  TempDir tmp;
  const fs::path from = tmp.path / "from", to = tmp.path / "to";
  auto source = runtrack::ArtifactStore::Open(from);
  REQUIRE(source.ok());
  for (int v = 1; v <= 2; ++v) {
    const fs::path file = tmp.path / fmt::format("w{}.bin", v);
    std::ofstream(file, std::ios::binary) << std::string(70000 + v, static_cast<char>('a' + v));
    auto a = runtrack::Artifact::Create("net", runtrack::ArtifactType::kModel);
    REQUIRE(a.ok());
    REQUIRE(a->AddFile(file, "w.bin").ok());
    REQUIRE(source->Log(*a, "").ok());
  }
  REQUIRE(source->SetAlias("net", "prod", 1).ok());
  auto exported = source->Export();
  REQUIRE(exported.ok());
  REQUIRE(exported->size() == 1);
  const runtrack::ExportedArtifactName& net = exported->front();

  // Without its chunks a version is refused, naming the first missing one; nothing is published.
  auto chunks = runtrack::ManifestChunks(net.versions[0].manifest_text);
  REQUIRE(chunks.ok());
  REQUIRE(chunks->size() == 1);
  const auto& [hex, size] = *chunks->begin();
  auto missing = runtrack::ImportArtifactName(to, net, 3);
  CHECK(missing.status().ToString() ==
        fmt::format("failed_precondition: net:v1: chunk {} of file 'w.bin' is not in blobs/ (install the chunks first)",
                    hex));
  auto target = runtrack::ArtifactStore::Open(to);
  REQUIRE(target.ok());
  CHECK(target->ListArtifacts()->empty());

  CHECK(runtrack::InstallArtifactChunk(to, hex, "not the bytes").status().code() == runtrack::StatusCode::kCorruption);
  for (const auto& v : net.versions) {
    auto of_version = runtrack::ManifestChunks(v.manifest_text);
    REQUIRE(of_version.ok());
    for (const auto& [h, n] : *of_version) {
      const std::string bytes = ReadAll(runtrack::StoreLayout(from).blobs_dir() / h.substr(0, 2) / h);
      REQUIRE(bytes.size() == n);
      REQUIRE(runtrack::InstallArtifactChunk(to, h, bytes).ok());
    }
  }
  CHECK(runtrack::ArtifactChunkPresent(to, hex, size));

  // last_version 3: number 3 was claimed in the copy and never published; it stays taken.
  auto report = runtrack::ImportArtifactName(to, net, 3);
  REQUIRE(report.ok());
  CHECK(report->versions_installed == 2);
  CHECK(report->numbers_reserved == 1);
  CHECK(report->aliases_written == 1);
  auto again = runtrack::ImportArtifactName(to, net, 3);
  REQUIRE(again.ok());
  CHECK(again->versions_installed == 0);
  CHECK(again->versions_present == 2);
  CHECK(again->aliases_written == 0);

  auto copied = target->Export();
  REQUIRE(copied.ok());
  REQUIRE(copied->front().versions.size() == 3);
  CHECK(copied->front().versions[0].manifest_text == net.versions[0].manifest_text);
  CHECK(copied->front().versions[1].manifest_text == net.versions[1].manifest_text);
  CHECK(copied->front().versions[2].state == "pending");
  CHECK(copied->front().aliases == net.aliases);
  auto handle = target->Use("net:prod", "");
  REQUIRE(handle.ok());
  CHECK(*handle->ReadFile("w.bin") == std::string(70001, 'b'));

  // A store that has diverged is not overwritten.
  REQUIRE(target->Delete("net", 1, runtrack::DeleteMode::kSoft).ok());
  CHECK(runtrack::ImportArtifactName(to, net, 3).status().ToString() ==
        "failed_precondition: net:v1 is deleted in this store but ready in the copy; nothing overwritten");
  runtrack::ExportedArtifactName other = net;
  other.type = runtrack::ArtifactType::kDataset;
  CHECK(runtrack::ImportArtifactName(to, other, 3).status().ToString() ==
        "already_exists: artifact 'net' exists in this store as a model, not a dataset");
}
