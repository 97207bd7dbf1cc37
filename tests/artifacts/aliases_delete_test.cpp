#include <catch2/catch.hpp>

#include "artifact_test_util.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::DeleteMode;
using runtrack::StatusCode;

namespace {
std::map<std::string, int> AliasesOf(runtrack::ArtifactStore& store, const std::string& name) {
  auto a = store.Aliases(name);
  REQUIRE(a.ok());
  return *a;
}
}  // namespace

TEST_CASE("latest follows the newest live version") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "m", ArtifactType::kModel, "v1");
  LogText(store, dir.path(), "m", ArtifactType::kModel, "v2");
  CHECK(AliasesOf(store, "m") == std::map<std::string, int>{{"latest", 2}});
  auto h = store.Use("m", "");
  REQUIRE(h.ok());
  CHECK(h->info().version == 2);
  CHECK(h->info().aliases == std::vector<std::string>{"latest"});
  REQUIRE(store.Delete("m", 2).ok());
  CHECK(AliasesOf(store, "m") == std::map<std::string, int>{{"latest", 1}});
  CHECK(store.Use("m:latest", "")->info().version == 1);
  REQUIRE(store.Restore("m", 2).ok());
  CHECK(store.Use("m:latest", "")->info().version == 2);
}

TEST_CASE("alias moves off the old version") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  for (int i = 0; i < 3; ++i) LogText(store, dir.path(), "m", ArtifactType::kModel, "v" + std::to_string(i));
  REQUIRE(store.SetAlias("m", "production", 1).ok());
  REQUIRE(store.SetAlias("m", "staging", 1).ok());
  CHECK(store.GetVersion("m", 1)->aliases == std::vector<std::string>{"production", "staging"});
  REQUIRE(store.SetAlias("m", "production", 2).ok());
  CHECK(store.GetVersion("m", 1)->aliases == std::vector<std::string>{"staging"});
  CHECK(store.GetVersion("m", 2)->aliases == std::vector<std::string>{"production"});
  CHECK(store.GetVersion("m", 3)->aliases == std::vector<std::string>{"latest"});
  CHECK(store.Use("m:production", "")->info().version == 2);
  CHECK(AliasesOf(store, "m") == std::map<std::string, int>{{"latest", 3}, {"production", 2}, {"staging", 1}});

  REQUIRE(store.RemoveAlias("m", "staging").ok());
  CHECK(store.RemoveAlias("m", "staging").message() == "alias 'staging' of 'm' does not exist");
  CHECK(store.SetAlias("m", "latest", 1).code() == StatusCode::kInvalidArgument);
  CHECK(store.SetAlias("m", "v2", 1).code() == StatusCode::kInvalidArgument);
  CHECK(store.SetAlias("m", "../../escape", 1).code() == StatusCode::kInvalidArgument);
  CHECK(store.SetAlias("m", "prod", 9).message() == "version v9 of 'm' not found; existing versions: v1, v2, v3");
}

TEST_CASE("soft delete hides a version and restore brings it back with its aliases") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "ds", ArtifactType::kDataset, "a");
  LogText(store, dir.path(), "ds", ArtifactType::kDataset, "b");
  REQUIRE(store.SetAlias("ds", "gold", 1).ok());
  REQUIRE(store.Delete("ds", 1, DeleteMode::kSoft).ok());
  CHECK(store.ListVersions("ds")->size() == 1);
  auto all = store.ListVersions("ds", /*include_deleted=*/true);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].status == "deleted");
  CHECK(store.Use("ds:v1", "").status().message() == "ds:v1 is deleted; restore it before using it");
  CHECK(store.Use("ds:gold", "").status().code() == StatusCode::kFailedPrecondition);
  CHECK(store.Delete("ds", 1).message() == "ds:v1 is already deleted");

  REQUIRE(store.Restore("ds", 1).ok());
  CHECK(store.Restore("ds", 1).message() == "ds:v1 is not deleted");
  auto h = store.Use("ds:gold", "");
  REQUIRE(h.ok());
  CHECK(h->info().version == 1);
  CHECK(*h->ReadFile("data.bin") == "a");
}

TEST_CASE("permanent delete removes the manifest and the aliases on it") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "m", ArtifactType::kModel, "a");
  LogText(store, dir.path(), "m", ArtifactType::kModel, "b");
  REQUIRE(store.SetAlias("m", "production", 2).ok());
  REQUIRE(store.Delete("m", 2, DeleteMode::kPermanent).ok());
  CHECK_FALSE(fs::exists(dir / "store/artifacts/model/m/v2/manifest.json"));
  CHECK(fs::exists(dir / "store/artifacts/model/m/v2/purged"));
  CHECK(AliasesOf(store, "m") == std::map<std::string, int>{{"latest", 1}});
  CHECK(store.Restore("m", 2).message() == "m:v2 was permanently deleted and cannot be restored");
  CHECK(store.GetVersion("m", 2).status().code() == StatusCode::kNotFound);
  CHECK(store.Delete("m", 2, DeleteMode::kPermanent).code() == StatusCode::kNotFound);
}

TEST_CASE("use errors list what exists") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "resnet", ArtifactType::kModel, "a");
  LogText(store, dir.path(), "resnet", ArtifactType::kModel, "b");
  LogText(store, dir.path(), "cifar", ArtifactType::kDataset, "c");
  REQUIRE(store.SetAlias("resnet", "production", 1).ok());
  REQUIRE(store.Delete("resnet", 2).ok());

  auto r = store.Use("vgg:v1", "");
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message() == "artifact 'vgg' not found; existing artifacts: cifar, resnet");
  r = store.Use("resnet:v7", "");
  CHECK(r.status().message() == "version v7 of 'resnet' not found; existing versions: v1, v2 (deleted)");
  r = store.Use("resnet:staging", "");
  CHECK(r.status().message() ==
        "alias or version 'staging' of 'resnet' not found; existing aliases: latest -> v1, production -> v1; "
        "existing versions: v1, v2 (deleted)");
  r = store.Use("resnet:v1", "not-a-run");
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  r = store.Use("../etc:v1", "");
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(store.Use("resnet:production", kRunA).ok());
}

TEST_CASE("listings report Runicorn's fields") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  WriteFile(dir / "w/model.pth", RandomBytes(1000, 1));
  WriteFile(dir / "w/extra/cfg.yaml", "x: 1\n");
  auto a = MakeArtifact("resnet50", ArtifactType::kModel);
  a.SetDescription("ResNet50 on ImageNet");
  a.AddMetadata({{"architecture", "ResNet50"}, {"val_accuracy", 0.95}});
  REQUIRE(a.AddTag("baseline").ok());
  REQUIRE(a.AddTag("baseline").ok());
  REQUIRE(a.AddDir(dir / "w").ok());
  REQUIRE(a.AddReference("s3://bucket/imagenet.tar", "md5:abc", 123).ok());
  REQUIRE(store.Log(a, kRunA).ok());
  LogText(store, dir.path(), "cfg", ArtifactType::kConfig, "lr: 1");

  auto info = store.GetVersion("resnet50", 1);
  REQUIRE(info.ok());
  CHECK(info->name == "resnet50");
  CHECK(info->type == ArtifactType::kModel);
  CHECK(info->size_bytes == 1005);
  CHECK(info->num_files == 2);
  CHECK(info->num_references == 1);
  CHECK(info->status == "ready");
  CHECK(info->description == "ResNet50 on ImageNet");
  CHECK(info->tags == std::vector<std::string>{"baseline"});
  CHECK(info->aliases == std::vector<std::string>{"latest"});
  CHECK(info->created_by_run == kRunA);
  CHECK(info->metadata.at("architecture").as_string() == "ResNet50");
  CHECK(info->manifest_digest.rfind("sha256:", 0) == 0);
  CHECK(info->manifest_digest.size() == 7 + 64);
  CHECK(info->created_at > 1.7e9);

  auto files = store.ListFiles("resnet50", 1);
  REQUIRE(files.ok());
  CHECK(files->artifact == "resnet50:v1");
  REQUIRE(files->files.size() == 2);
  CHECK(files->files[0].path == "extra/cfg.yaml");
  CHECK(files->files[1].path == "model.pth");
  CHECK(files->total_size == 1005);
  REQUIRE(files->references.size() == 1);
  CHECK(files->references[0].uri == "s3://bucket/imagenet.tar");
  CHECK(*files->references[0].checksum == "md5:abc");
  CHECK(*files->references[0].size == 123);

  auto models = store.ListArtifacts(ArtifactType::kModel);
  REQUIRE(models.ok());
  REQUIRE(models->size() == 1);
  CHECK((*models)[0].name == "resnet50");
  CHECK((*models)[0].num_versions == 1);
  CHECK((*models)[0].latest_version == 1);
  CHECK((*models)[0].size_bytes == 1005);
  auto everything = store.ListArtifacts();
  REQUIRE(everything->size() == 2);
  CHECK((*everything)[0].name == "cfg");

  // A name belongs to one type.
  auto clash = MakeArtifact("cfg", ArtifactType::kModel);
  REQUIRE(clash.AddReference("https://example.com/x").ok());
  CHECK(store.Log(clash, "").status().message() == "artifact name 'cfg' is already used by type config");
}
