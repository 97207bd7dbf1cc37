// PgArtifactRepository answers every ArtifactRepository call exactly as the embedded
// FileArtifactRepository does: an embedded store with several types, versions, aliases,
// soft-deleted and purged versions, references and lineage chains is copied into PostgreSQL with
// CopyFrom, and each answer (every field, in order) and each failure (code and message) compared.
#ifdef RUNICORN_HAVE_PG
#include <functional>
#include <numeric>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "artifacts/artifact_test_util.h"
#include "pg/pg_test_support.h"
#include "service/file_artifacts.h"
#include "service/pg/pg_artifact_repository.h"

using namespace runicorn::testing;
using namespace artifact_test;
using runicorn::service::FileArtifactRepository;
using runicorn::service::pg::PgArtifactRepository;
using runtrack::ArtifactType;
using runtrack::DeleteMode;
using runtrack::StatusCode;

namespace {

std::string Render(const runtrack::ArtifactSummary& s) {
  std::vector<std::string> aliases;
  for (const auto& [a, v] : s.aliases) aliases.push_back(fmt::format("{}={}", a, v));
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|[{}]", s.name, runtrack::ArtifactTypeName(s.type), s.num_versions,
                     s.latest_version, s.size_bytes, s.created_at, s.updated_at, fmt::join(aliases, ","));
}

std::string Render(const runtrack::ArtifactVersionInfo& i) {
  return fmt::format("{}|{}|v{}|{}|{}|{}|{}|{}|{}|{}|{}|[{}]|[{}]|{}", i.name, runtrack::ArtifactTypeName(i.type),
                     i.version, i.created_at, i.created_by_run, i.size_bytes, i.num_files, i.num_references,
                     i.status, boost::json::serialize(i.metadata), i.description, fmt::join(i.tags, ","),
                     fmt::join(i.aliases, ","), i.manifest_digest);
}

std::string Render(const runtrack::ArtifactFileList& l) {
  std::string out = fmt::format("{} total={}", l.artifact, l.total_size);
  for (const auto& f : l.files) out += fmt::format("\n{}|{}|{}|{}", f.path, f.size, f.digest, f.num_chunks);
  for (const auto& r : l.references)
    out += fmt::format("\nref {}|{}|{}", r.uri, r.checksum.value_or("-"), r.size ? std::to_string(*r.size) : "-");
  return out;
}

std::string Render(const runtrack::ArtifactStats& s) {
  std::string out = fmt::format("{} {} {} {} {} {} {} {} {}", s.total_artifacts, s.total_versions, s.deleted_versions,
                                s.total_files, s.total_size_bytes, s.stored_bytes, s.space_saved_bytes, s.dedup_ratio,
                                s.blob_pool_bytes);
  for (const auto& [type, t] : s.by_type) out += fmt::format(" {}:{}/{}/{}", type, t.count, t.versions, t.size_bytes);
  return out;
}

std::string Render(const runtrack::LineageGraph& g) {
  std::string out = g.root_artifact;
  for (const auto& n : g.nodes)
    out += fmt::format("\nnode {}|{}|{}|{}|{}|{}|{}|{}", n.node_type, n.node_id, n.label, n.artifact_type,
                       n.size_bytes, n.status, n.depth, n.direction);
  for (const auto& e : g.edges) out += fmt::format("\nedge {} -{}-> {}", e.source, e.edge_type, e.target);
  return out;
}

std::string Render(const std::map<std::string, int>& aliases) {
  std::vector<std::string> out;
  for (const auto& [a, v] : aliases) out.push_back(fmt::format("{}={}", a, v));
  return fmt::format("[{}]", fmt::join(out, ","));
}

std::string Render(int v) { return std::to_string(v); }
std::string Render(const std::string& s) { return s; }
std::string Render(const runtrack::GcReport& r) {
  return fmt::format("{} {} {} {}", r.bytes_freed, r.chunks_removed, r.chunks_kept, r.chunks_in_grace);
}

template <typename T>
std::string Render(const std::vector<T>& items) {
  std::string out;
  for (const auto& i : items) out += Render(i) + "\n";
  return out;
}

// A result as text: the value, or "error <code>: <message>".
template <typename T>
std::string Outcome(const runtrack::Result<T>& r) {
  if (!r.ok()) return "error " + r.status().ToString();
  return Render(*r);
}
std::string Outcome(const runtrack::Status& s) { return s.ok() ? "ok" : "error " + s.ToString(); }

std::string AddDirFiles(const fs::path& dir, const std::string& tag) {
  WriteFile(dir / "weights.bin", RandomBytes(300 * 1024, 7));  // shared by every version: dedup
  WriteFile(dir / "sub" / "head.bin", tag);
  return dir.string();
}

// The embedded store both back ends start from, and its copy in PostgreSQL.
struct ArtifactTwins {
  ScratchDir dir;
  std::shared_ptr<runtrack::ArtifactStore> store;
  std::unique_ptr<FileArtifactRepository> embedded;
  std::unique_ptr<PgArtifactRepository> pg;
  runicorn::service::pg::ArtifactCopyReport report;

  explicit ArtifactTwins(const std::string& conninfo) {
    REQUIRE_FALSE(conninfo.empty());
    store = std::make_shared<runtrack::ArtifactStore>(OpenStore(dir / "store"));
    // dataset cifar v1 -> run A -> net v1 -> run B -> net v2 -> run C -> net v3 (soft-deleted);
    // net v4 is purged (its alias goes with it); run C also used cfg v1.
    LogText(*store, dir.path(), "cifar", ArtifactType::kDataset, "images", "");
    REQUIRE(store->Use("cifar:v1", kRunA).ok());
    {
      auto a = MakeArtifact("net", ArtifactType::kModel);
      a.SetDescription("ResNet on CIFAR");
      a.AddMetadata(boost::json::parse(R"({"val_acc": 0.95, "epochs": 3, "opt": {"name": "adam", "lr": 1e-3}})")
                        .as_object());
      REQUIRE(a.AddTag("baseline").ok());
      REQUIRE(a.AddTag("gpu").ok());
      REQUIRE(a.AddDir(AddDirFiles(dir / "net1", "head one")).ok());
      REQUIRE(store->Log(a, kRunA).ok());
    }
    REQUIRE(store->Use("net:v1", kRunB).ok());
    {
      auto a = MakeArtifact("net", ArtifactType::kModel);
      a.AddMetadata(boost::json::parse(R"({"val_acc": 0.97, "note": "z before a", "a": null})").as_object());
      REQUIRE(a.AddDir(AddDirFiles(dir / "net2", "head two")).ok());
      REQUIRE(store->Log(a, kRunB).ok());
    }
    REQUIRE(store->Use("net:v2", kRunC).ok());
    LogText(*store, dir.path(), "net", ArtifactType::kModel, "weights 3", kRunC);
    LogText(*store, dir.path(), "net", ArtifactType::kModel, "weights 4", kRunC);
    {
      auto a = MakeArtifact("cfg", ArtifactType::kConfig);
      REQUIRE(a.AddReference("s3://bucket/imagenet.tar", "md5:abc", 123).ok());
      REQUIRE(a.AddReference("https://example.com/x").ok());
      REQUIRE(store->Log(a, "").ok());
    }
    REQUIRE(store->Use("cfg:v1", kRunC).ok());
    LogText(*store, dir.path(), "cfg", ArtifactType::kConfig, "lr: 0.1", "");
    LogText(*store, dir.path(), "src", ArtifactType::kCode, "print(1)", kRunA);  // only version soft-deleted
    REQUIRE(store->SetAlias("net", "prod", 2).ok());
    REQUIRE(store->SetAlias("net", "staging", 1).ok());
    REQUIRE(store->SetAlias("net", "old", 4).ok());
    REQUIRE(store->SetAlias("cfg", "current", 1).ok());
    REQUIRE(store->Delete("net", 3, DeleteMode::kSoft).ok());
    REQUIRE(store->Delete("net", 4, DeleteMode::kPermanent).ok());
    REQUIRE(store->Delete("src", 1, DeleteMode::kSoft).ok());

    embedded = std::make_unique<FileArtifactRepository>(store);
    auto opened = PgArtifactRepository::Open(conninfo, {dir / "store", nullptr});
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    pg = std::move(opened).value();
    auto copied = pg->CopyFrom(*store);
    INFO(copied.status().ToString());
    REQUIRE(copied.ok());
    report = *copied;
  }

  // Every read of the interface, on both back ends, for every name and version.
  void CheckSameState() {
    CHECK(Outcome(pg->ListArtifacts(std::nullopt)) == Outcome(embedded->ListArtifacts(std::nullopt)));
    for (auto t : {ArtifactType::kModel, ArtifactType::kDataset, ArtifactType::kConfig, ArtifactType::kCode,
                   ArtifactType::kCustom})
      CHECK(Outcome(pg->ListArtifacts(t)) == Outcome(embedded->ListArtifacts(t)));
    CHECK(Outcome(pg->Stats()) == Outcome(embedded->Stats()));
    for (const char* name : {"cifar", "net", "cfg", "src"}) {
      INFO(name);
      CHECK(Outcome(pg->ListVersions(name, false)) == Outcome(embedded->ListVersions(name, false)));
      CHECK(Outcome(pg->ListVersions(name, true)) == Outcome(embedded->ListVersions(name, true)));
      CHECK(Outcome(pg->Aliases(name)) == Outcome(embedded->Aliases(name)));
      for (int v = 0; v <= 5; ++v) {
        INFO("v" << v);
        CHECK(Outcome(pg->GetVersion(name, v)) == Outcome(embedded->GetVersion(name, v)));
        CHECK(Outcome(pg->ListFiles(name, v)) == Outcome(embedded->ListFiles(name, v)));
      }
    }
  }
};

std::string ResolveOutcome(runicorn::service::ArtifactRepository& repo, const std::string& spec) {
  auto h = repo.Resolve(spec);
  if (!h.ok()) return "error " + h.status().ToString();
  std::string out = Render(h->info());
  for (const auto& f : h->files()) {
    auto bytes = h->ReadFile(f.path);
    out += fmt::format("\n{} {} {}", f.path, f.size, bytes.ok() ? std::to_string(std::hash<std::string>{}(*bytes))
                                                                 : bytes.status().ToString());
  }
  for (const auto& r : h->references()) out += "\nref " + r.uri;
  return out;
}

}  // namespace

TEST_CASE("copied artifacts are listed, counted and described exactly as the embedded store does", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  // cifar v1; net v1..v3 (v4 purged: its number only); cfg v1, v2; src v1.
  CHECK(twins.report.names == 4);
  CHECK(twins.report.versions_copied == 8);
  CHECK(twins.report.versions_skipped == 0);
  CHECK(twins.report.versions_pending == 0);
  CHECK(twins.report.aliases_copied == 3);  // prod, staging, current ("old" went with v4)
  CHECK(twins.report.uses_copied == 4);     // cifar v1 by A, net v1 by B, net v2 by C, cfg v1 by C
  twins.CheckSameState();
  // A few values spelled out, so the comparison above cannot pass on two empty answers.
  auto versions = twins.pg->ListVersions("net", true);
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 3);
  CHECK((*versions)[0].aliases == std::vector<std::string>{"staging"});
  CHECK((*versions)[1].aliases == std::vector<std::string>{"latest", "prod"});
  CHECK((*versions)[2].status == "deleted");
  CHECK((*versions)[0].tags == std::vector<std::string>{"baseline", "gpu"});
  CHECK(boost::json::serialize((*versions)[0].metadata["opt"]) == R"({"name":"adam","lr":1E-3})");
  auto stats = twins.pg->Stats();
  REQUIRE(stats.ok());
  CHECK(stats->total_versions == 7);  // the purged net v4 holds nothing
  CHECK(stats->deleted_versions == 2);
  CHECK(stats->stored_bytes < stats->total_size_bytes);  // weights.bin is stored once
  auto files = twins.pg->ListFiles("cfg", 1);
  REQUIRE(files.ok());
  REQUIRE(files->references.size() == 2);
  CHECK(files->references[0].checksum == std::optional<std::string>("md5:abc"));
  CHECK(files->references[1].size == std::nullopt);
}

TEST_CASE("resolve answers the same version and reads the same bytes, and fails alike", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  for (const char* spec : {"net", "net:latest", "net:v1", "net:v2", "net:prod", "net:staging", "cifar", "cfg:current",
                           "cfg:v2",
                           // failures: unknown name, missing / deleted / purged version, unknown alias,
                           // bad name, no ready version, empty selector, "v0", an alias that looks bad
                           "nope", "net:v9", "net:v3", "net:v4", "net:old", "bad/name", "src", "net:", "net:v0",
                           "net:.hidden", ":v1", ""}) {
    INFO(spec);
    std::string expected = ResolveOutcome(*twins.embedded, spec);
    CHECK(ResolveOutcome(*twins.pg, spec) == expected);
  }
  CHECK(ResolveOutcome(*twins.pg, "net:v9") ==
        "error not_found: version v9 of 'net' not found; existing versions: v1, v2, v3 (deleted)");
  CHECK(ResolveOutcome(*twins.pg, "net:v3") ==
        "error failed_precondition: net:v3 is deleted; restore it before using it");
  auto h = twins.pg->Resolve("net:prod");
  REQUIRE(h.ok());
  auto head = h->ReadFile("sub/head.bin");
  REQUIRE(head.ok());
  CHECK(*head == "head two");
}

TEST_CASE("lineage graphs are identical at every depth", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  for (auto [name, version] : std::vector<std::pair<const char*, int>>{
           {"cifar", 1}, {"net", 1}, {"net", 2}, {"net", 3}, {"cfg", 1}, {"src", 1}, {"net", 4}, {"net", 7}, {"zz", 1}}) {
    for (int depth : {-1, 0, 1, 2, 3, 4, 11}) {
      INFO(name << ":v" << version << " depth " << depth);
      CHECK(Outcome(twins.pg->Lineage(name, version, depth)) == Outcome(twins.embedded->Lineage(name, version, depth)));
    }
  }
  // Upstream of net v2: run B, net v1, run A (depth 3: not expanded further); downstream: run C,
  // which produced net v3 (soft-deleted: still shown) and has no consumers.
  auto g = twins.pg->Lineage("net", 2, 3);
  REQUIRE(g.ok());
  CHECK(Render(*g) == fmt::format(
                          "net:v2"
                          "\nnode artifact|net:v2|net v2|model|{0}|ready|0|root"
                          "\nnode run|{1}|{1}||0||1|upstream"
                          "\nnode artifact|net:v1|net v1|model|{0}|ready|2|upstream"
                          "\nnode run|{2}|{2}||0||3|upstream"
                          "\nnode run|{3}|{3}||0||1|downstream"
                          "\nnode artifact|net:v3|net v3|model|9|deleted|2|downstream"
                          "\nedge {2} -produces-> net:v1"
                          "\nedge {1} -produces-> net:v2"
                          "\nedge {3} -produces-> net:v3"
                          "\nedge net:v1 -uses-> {1}"
                          "\nedge net:v2 -uses-> {3}",
                          300 * 1024 + 8, kRunB, kRunA, kRunC));
}

TEST_CASE("failure paths answer the embedded codes and messages", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  auto& e = *twins.embedded;
  auto& p = *twins.pg;
  CHECK(Outcome(p.GetVersion("nope", 1)) == Outcome(e.GetVersion("nope", 1)));
  CHECK(Outcome(p.GetVersion("nope", 1)) ==
        "error not_found: artifact 'nope' not found; existing artifacts: cfg, cifar, net, src");
  CHECK(Outcome(p.ListVersions("a:b", true)) == Outcome(e.ListVersions("a:b", true)));
  CHECK(Outcome(p.ListFiles("net", 4)) == Outcome(e.ListFiles("net", 4)));
  CHECK(Outcome(p.Aliases("../x")) == Outcome(e.Aliases("../x")));
  // Each pair runs on both; the first three change nothing.
  struct Op {
    const char* what;
    std::function<runtrack::Status(runicorn::service::ArtifactRepository&)> run;
  };
  std::vector<Op> ops = {
      {"soft delete of a deleted version", [](auto& r) { return r.Delete("net", 3, DeleteMode::kSoft); }},
      {"restore of a ready version", [](auto& r) { return r.Restore("net", 2); }},
      {"restore of a purged version", [](auto& r) { return r.Restore("net", 4); }},
      {"restore of a missing version", [](auto& r) { return r.Restore("net", 40); }},
      {"delete of a purged version", [](auto& r) { return r.Delete("net", 4, DeleteMode::kPermanent); }},
      {"delete of an unknown name", [](auto& r) { return r.Delete("nope", 1, DeleteMode::kSoft); }},
      {"alias to a missing version", [](auto& r) { return r.SetAlias("net", "x", 9); }},
      {"alias to a purged version", [](auto& r) { return r.SetAlias("net", "x", 4); }},
      {"alias to a deleted version", [](auto& r) { return r.SetAlias("net", "x", 3); }},
      {"alias 'latest'", [](auto& r) { return r.SetAlias("net", "latest", 1); }},
      {"alias like a version", [](auto& r) { return r.SetAlias("net", "v2", 1); }},
      {"alias with a slash", [](auto& r) { return r.SetAlias("net", "a/b", 1); }},
      {"alias of an unknown name", [](auto& r) { return r.SetAlias("nope", "x", 1); }},
      {"remove a missing alias", [](auto& r) { return r.RemoveAlias("net", "nosuch"); }},
      {"remove alias of an unknown name", [](auto& r) { return r.RemoveAlias("nope", "x"); }},
  };
  for (const auto& op : ops) {
    INFO(op.what);
    std::string expected = Outcome(op.run(e));
    CHECK_FALSE(expected == "ok");
    CHECK(Outcome(op.run(p)) == expected);
  }
  CHECK(Outcome(p.Restore("net", 4)) ==
        "error not_found: net:v4 was permanently deleted and cannot be restored");
  twins.CheckSameState();
}

TEST_CASE("the same changes on both back ends leave the same state", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  std::vector<std::pair<const char*, std::function<runtrack::Status(runicorn::service::ArtifactRepository&)>>> steps = {
      {"soft-delete the aliased newest ready version (latest moves back, prod stays)",
       [](auto& r) { return r.Delete("net", 2, DeleteMode::kSoft); }},
      {"purge the version an alias points at (the alias goes)",
       [](auto& r) { return r.Delete("net", 1, DeleteMode::kPermanent); }},
      {"restore a soft-deleted version", [](auto& r) { return r.Restore("net", 3); }},
      {"move an alias", [](auto& r) { return r.SetAlias("net", "prod", 3); }},
      {"add an alias", [](auto& r) { return r.SetAlias("cfg", "next", 2); }},
      {"remove an alias", [](auto& r) { return r.RemoveAlias("cfg", "current"); }},
      {"purge a soft-deleted version", [](auto& r) { return r.Delete("src", 1, DeleteMode::kPermanent); }},
      {"restore net v2", [](auto& r) { return r.Restore("net", 2); }},
  };
  for (const auto& [what, step] : steps) {
    INFO(what);
    REQUIRE(Outcome(step(*twins.embedded)) == "ok");
    REQUIRE(Outcome(step(*twins.pg)) == "ok");
    twins.CheckSameState();
  }
  CHECK(Outcome(twins.pg->Aliases("net")) == "[latest=3,prod=3]");
  CHECK(Outcome(twins.pg->ReferencedChunks()) == Outcome(twins.store->ReferencedChunks()));
}

TEST_CASE("a second copy copies nothing twice and picks up what is new", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  auto again = twins.pg->CopyFrom(*twins.store);
  REQUIRE(again.ok());
  CHECK(again->versions_copied == 0);
  CHECK(again->versions_skipped == 8);
  CHECK(again->aliases_copied == 0);
  CHECK(again->uses_copied == 0);
  // Published and used in the embedded store since the first copy.
  LogText(*twins.store, twins.dir.path(), "net", ArtifactType::kModel, "weights 5", kRunC);
  REQUIRE(twins.store->Use("net:v5", kRunA).ok());
  REQUIRE(twins.store->SetAlias("net", "fresh", 5).ok());
  auto third = twins.pg->CopyFrom(*twins.store);
  REQUIRE(third.ok());
  CHECK(third->versions_copied == 1);
  CHECK(third->versions_skipped == 8);
  CHECK(third->aliases_copied == 1);
  CHECK(third->uses_copied == 1);
  twins.CheckSameState();
  CHECK(Outcome(twins.pg->Lineage("net", 5, 2)) == Outcome(twins.embedded->Lineage("net", 5, 2)));
  // The claim counter continues after every copied number, the purged v4 included.
  auto next = twins.pg->ClaimVersion("net", ArtifactType::kModel);
  REQUIRE(next.ok());
  CHECK(*next == 6);
  // A pending version is invisible, as a claimed but unpublished v<N> directory is.
  CHECK(Outcome(twins.pg->GetVersion("net", 6)) ==
        "error not_found: version v6 of 'net' not found; existing versions: v1, v2, v3 (deleted), v5");
}

TEST_CASE("a name keeps its type: copies and claims of another type are refused", "[pg][artifacts]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  CHECK(Outcome(twins.pg->ClaimVersion("net", ArtifactType::kDataset)) ==
        "error already_exists: artifact name 'net' is already used by type model");
  CHECK(Outcome(twins.pg->ClaimVersion("bad:name", ArtifactType::kDataset)).starts_with("error invalid_argument: "));
  ScratchDir other;
  auto clash = OpenStore(other / "store");
  LogText(clash, other.path(), "net", ArtifactType::kDataset, "not a model", "");
  auto copied = twins.pg->CopyFrom(clash);
  CHECK(copied.status().code() == StatusCode::kAlreadyExists);
  CHECK(copied.status().message() ==
        "copying artifact 'net': artifact name 'net' (dataset) is stored in PostgreSQL with another type");
  twins.CheckSameState();  // nothing of the refused copy stayed
  CHECK(Outcome(twins.pg->Gc(std::chrono::seconds(0), {})) ==
        "error failed_precondition: artifact chunks of a PostgreSQL catalog live in the object store: collect them "
        "with `runicorn gc --objects s3://...`");
}

TEST_CASE("racing writers never get one version number twice", "[pg][artifacts][concurrency]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string conninfo = server.NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  // The records to publish: an embedded store's v1..v24 of "racer".
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  constexpr int kThreads = 6, kPerThread = 4, kTotal = kThreads * kPerThread;
  for (int i = 0; i < kTotal; ++i)
    LogText(store, dir.path(), "racer", ArtifactType::kCustom, fmt::format("content {}", i), "");
  auto exported = store.Export();
  REQUIRE(exported.ok());
  REQUIRE(exported->size() == 1);
  const auto& records = exported->front().versions;
  REQUIRE(records.size() == kTotal);

  auto opened = PgArtifactRepository::Open(conninfo, {dir / "store", nullptr});
  REQUIRE(opened.ok());
  auto& pg = **opened;
  std::vector<std::vector<int>> claimed(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto v = pg.ClaimVersion("racer", ArtifactType::kCustom);
        if (!v.ok()) {
          errors[t] = v.status().ToString();
          return;
        }
        claimed[t].push_back(*v);
        if (*v < 1 || *v > kTotal) continue;  // caught below
        runtrack::Status s = pg.PublishVersion("racer", records[*v - 1]);
        if (!s.ok()) errors[t] = s.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) CHECK(e == "");
  std::vector<int> all;
  for (const auto& c : claimed) all.insert(all.end(), c.begin(), c.end());
  std::sort(all.begin(), all.end());
  std::vector<int> expected(kTotal);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(all == expected);
  FileArtifactRepository embedded(std::make_shared<runtrack::ArtifactStore>(std::move(store)));
  CHECK(Outcome(pg.ListVersions("racer", true)) == Outcome(embedded.ListVersions("racer", true)));
  // Publishing twice, or a manifest of another number, is refused and changes nothing.
  CHECK(Outcome(pg.PublishVersion("racer", records[0])) ==
        "error failed_precondition: racer:v1 is ready; only a claimed, unpublished version can be published");
  auto next = pg.ClaimVersion("racer", ArtifactType::kCustom);
  REQUIRE(next.ok());
  CHECK(Outcome(pg.PublishVersion("racer", [&] {
          auto r = records[0];
          r.version = *next;
          return r;
        }())) == fmt::format("error invalid_argument: racer:v{}: the manifest describes racer:v1 (custom)", *next));
  CHECK(Outcome(pg.ListVersions("racer", true)) == Outcome(embedded.ListVersions("racer", true)));
}

TEST_CASE("racing alias moves lose no alias and never leave one on a purged version",
          "[pg][artifacts][concurrency]") {
  RUNICORN_PG_TEST_SERVER(server);
  ArtifactTwins twins(server.NewDatabase());
  auto& pg = *twins.pg;
  // Each mover owns one alias and moves it between net v1 and v2 many times; all of them also
  // move the shared "prod". Meanwhile net v3 is restored, aliased by a racer and purged.
  constexpr int kMovers = 4, kMoves = 30;
  std::vector<int> last(kMovers, 0);
  std::vector<std::string> errors(kMovers + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kMovers; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kMoves; ++i) {
        int v = 1 + (i + t) % 2;
        runtrack::Status s = pg.SetAlias("net", fmt::format("mover{}", t), v);
        if (s.ok()) s = pg.SetAlias("net", "prod", v);
        // Aliasing v3 races its purge: either it lands before (and the purge drops it) or after
        // (and it is refused as not found).
        runtrack::Status racer = pg.SetAlias("net", fmt::format("doomed{}", t), 3);
        if (!racer.ok() && racer.code() != StatusCode::kNotFound && racer.code() != StatusCode::kFailedPrecondition)
          s = racer;
        if (!s.ok()) {
          errors[t] = s.ToString();
          return;
        }
        last[t] = v;
      }
    });
  }
  threads.emplace_back([&] {
    runtrack::Status s = pg.Restore("net", 3);
    if (s.ok()) s = pg.Delete("net", 3, DeleteMode::kPermanent);
    if (!s.ok()) errors[kMovers] = s.ToString();
  });
  for (auto& th : threads) th.join();
  for (const auto& e : errors) CHECK(e == "");
  auto aliases = pg.Aliases("net");
  REQUIRE(aliases.ok());
  for (int t = 0; t < kMovers; ++t) {
    INFO("mover " << t);
    CHECK(aliases->at(fmt::format("mover{}", t)) == last[t]);  // the last move of each mover stuck
    // Whenever a doomed alias landed, the purge of v3 came later and dropped it.
    CHECK(aliases->count(fmt::format("doomed{}", t)) == 0);
  }
  CHECK((aliases->at("prod") == 1 || aliases->at("prod") == 2));
  CHECK(aliases->at("latest") == 2);
  CHECK(aliases->size() == kMovers + 3);  // movers, prod, staging, latest
  CHECK(Outcome(pg.GetVersion("net", 3)) == "error not_found: version v3 of 'net' not found; existing versions: v1, v2");
}

#else
#include <catch2/catch.hpp>
TEST_CASE("PostgreSQL artifact repository (libpq not found at build time)", "[pg]") {
  WARN("SKIPPED: built without libpq (apt-get install libpq-dev)");
}
#endif
