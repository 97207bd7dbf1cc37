// ArtifactStore::Export (what a copy into another catalog reads) and HandleFromManifest (a handle
// over a manifest that catalog kept).
#include <catch2/catch.hpp>

#include "artifact_test_util.h"
#include "runtrack/layout.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::DeleteMode;
using runtrack::StatusCode;

TEST_CASE("export lists every claimed number with its state, manifest, files, chunks and uses", "[artifacts]") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "net", ArtifactType::kModel, "one", kRunA);
  LogText(store, dir.path(), "net", ArtifactType::kModel, "two", "");
  LogText(store, dir.path(), "net", ArtifactType::kModel, "three", "");
  REQUIRE(store.Use("net:v1", kRunC).ok());
  REQUIRE(store.Use("net:v1", kRunB).ok());
  REQUIRE(store.SetAlias("net", "prod", 1).ok());
  REQUIRE(store.Delete("net", 2, DeleteMode::kSoft).ok());
  REQUIRE(store.Delete("net", 3, DeleteMode::kPermanent).ok());
  // A writer that claimed v4 and has not published yet.
  fs::create_directories(runtrack::StoreLayout(dir / "store").artifacts_dir() / "model" / "net" / "v4");

  auto exported = store.Export();
  REQUIRE(exported.ok());
  REQUIRE(exported->size() == 1);
  const auto& n = exported->front();
  CHECK(n.name == "net");
  CHECK(n.type == ArtifactType::kModel);
  CHECK(n.aliases == std::map<std::string, int>{{"prod", 1}});
  REQUIRE(n.versions.size() == 4);
  std::vector<std::string> states;
  for (const auto& v : n.versions) states.push_back("v" + std::to_string(v.version) + " " + v.state);
  CHECK(states == std::vector<std::string>{"v1 ready", "v2 deleted", "v3 purged", "v4 pending"});
  const auto& v1 = n.versions[0];
  CHECK(v1.used_by_runs == std::vector<std::string>{kRunB, kRunC});
  CHECK(v1.info.created_by_run == kRunA);
  CHECK(v1.info.aliases.empty());
  REQUIRE(v1.files.size() == 1);
  CHECK(v1.files[0].size == 3);
  REQUIRE(v1.chunks.size() == 1);
  CHECK(v1.chunks.begin()->second == 3);
  auto on_disk = store.GetVersion("net", 1);
  REQUIRE(on_disk.ok());
  CHECK(v1.info.manifest_digest == on_disk->manifest_digest);
  CHECK(v1.manifest_text.find(on_disk->manifest_digest) != std::string::npos);
  CHECK(n.versions[1].info.status == "deleted");
  CHECK(n.versions[2].manifest_text.empty());
  CHECK(n.versions[3].manifest_text.empty());
}

TEST_CASE("a handle over an exported manifest reads the version's bytes, an altered one is refused",
          "[artifacts]") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::string content = RandomBytes(500 * 1024, 11);
  LogText(store, dir.path(), "data", ArtifactType::kDataset, content, "");
  auto exported = store.Export();
  REQUIRE(exported.ok());
  const std::string text = exported->front().versions[0].manifest_text;

  auto handle = store.HandleFromManifest(text, {"latest", "prod"});
  REQUIRE(handle.ok());
  CHECK(handle->info().name == "data");
  CHECK(handle->info().version == 1);
  CHECK(handle->info().status == "ready");
  CHECK(handle->info().aliases == std::vector<std::string>{"latest", "prod"});
  auto bytes = handle->ReadFile("data.bin");
  REQUIRE(bytes.ok());
  CHECK(*bytes == content);

  std::string altered = text;
  altered.replace(altered.find("\"data\""), 6, "\"date\"");
  auto refused = store.HandleFromManifest(altered, {});
  CHECK(refused.status().code() == StatusCode::kCorruption);
  CHECK(store.HandleFromManifest("{}", {}).status().code() == StatusCode::kCorruption);
}
