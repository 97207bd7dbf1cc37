#include <catch2/catch.hpp>

#include <set>

#include "artifact_test_util.h"
#include "artifacts/manifest.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::StatusCode;

TEST_CASE("artifact name validation table") {
  struct Case {
    std::string name;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"resnet50-imagenet", true},
      {"bert_base.finetuned", true},
      {"模型-ü", true},
      {std::string(128, 'a'), true},
      {".hidden", true},
      {"", false},
      {std::string(129, 'a'), false},
      {"a/b", false},
      {"a\\b", false},
      {"a:b", false},
      {"a*b", false},
      {"a?b", false},
      {"a\"b", false},
      {"a<b", false},
      {"a>b", false},
      {"a|b", false},
      {"..", false},
      {"a..b", false},
      {".", false},
      {"tab\there", false},
      {std::string("nul\0x", 5), false},
      {"del\x7f", false},
      {"bad\xff utf8", false},
  };
  for (const auto& c : cases) {
    INFO("name: " << c.name);
    CHECK(runtrack::ValidateArtifactName(c.name).ok() == c.ok);
    CHECK(runtrack::Artifact::Create(c.name, ArtifactType::kModel).ok() == c.ok);
  }
  CHECK(runtrack::ValidateArtifactName("a/b").message() ==
        "artifact name 'a/b' contains '/'; not allowed: / \\ : * ? \" < > |");
  CHECK(runtrack::ValidateArtifactName(std::string(129, 'a')).message() ==
        "artifact name is 129 bytes long; the limit is 128");
}

TEST_CASE("run ids must match the runicorn pattern") {
  CHECK(runtrack::ValidateRunId("20250114_120000_abc123").ok());
  CHECK_FALSE(runtrack::ValidateRunId("20250114_120000_ABC123").ok());
  CHECK_FALSE(runtrack::ValidateRunId("20250114_120000_abc12").ok());
  CHECK_FALSE(runtrack::ValidateRunId("../../../etc/passwd____").ok());
  CHECK_FALSE(runtrack::ValidateRunId("2025011a_120000_abc123").ok());
  CHECK_FALSE(runtrack::ValidateRunId("").ok());
}

TEST_CASE("paths inside an artifact cannot escape the download folder") {
  for (std::string bad : {"", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "..", "x\ny"}) {
    INFO("path: " << bad);
    CHECK(runtrack::ValidateArtifactPath(bad).code() == StatusCode::kInvalidArgument);
  }
  for (std::string good : {"model.pth", "a/b/c.txt", "数据/ü.bin", ".config", "a..b"}) {
    INFO("path: " << good);
    CHECK(runtrack::ValidateArtifactPath(good).ok());
  }
}

TEST_CASE("builder rejects missing files, directories as files and dot-dot paths") {
  ScratchDir dir;
  WriteFile(dir / "real.bin", "x");
  WriteFile(dir / "d/inner.bin", "y");
  auto a = MakeArtifact("m", ArtifactType::kModel);
  auto s = a.AddFile(dir / "missing.bin");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.message() == "file " + (dir / "missing.bin").string() + " does not exist");
  s = a.AddFile(dir / "d");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(s.message() == (dir / "d").string() + " is a directory; use AddDir for directories");
  s = a.AddFile(dir.path() / "d" / ".." / "real.bin");
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("contains '..'"));
  CHECK(a.AddFile(dir / "real.bin", "../../outside").code() == StatusCode::kInvalidArgument);
  CHECK(a.AddFile(dir / "real.bin", "/abs").code() == StatusCode::kInvalidArgument);
  CHECK(a.AddDir(dir / "real.bin").code() == StatusCode::kInvalidArgument);
  CHECK(a.AddDir(dir / "nope").code() == StatusCode::kNotFound);
  CHECK(a.AddDir(dir / "d", "../up").code() == StatusCode::kInvalidArgument);
  REQUIRE(a.AddFile(dir / "real.bin", "x/y").ok());
  CHECK(a.AddFile(dir / "real.bin", "x/y").code() == StatusCode::kAlreadyExists);
  CHECK(a.AddFile(dir / "real.bin", "x").code() == StatusCode::kAlreadyExists);      // x is a directory
  CHECK(a.AddFile(dir / "real.bin", "x/y/z").code() == StatusCode::kAlreadyExists);  // x/y is a file
  CHECK(a.files().size() == 1);
  CHECK(a.AddReference("").code() == StatusCode::kInvalidArgument);
  CHECK(a.AddTag("").code() == StatusCode::kInvalidArgument);
}

TEST_CASE("an artifact with no files and no references cannot be logged") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  auto a = MakeArtifact("empty", ArtifactType::kCode);
  auto v = store.Log(a, kRunA);
  CHECK(v.status().code() == StatusCode::kFailedPrecondition);
  CHECK(v.status().message() == "artifact 'empty' has no files and no references; add at least one before logging it");
  CHECK(store.Log(MakeArtifact("x", ArtifactType::kCode), "bad-run-id").status().code() == StatusCode::kInvalidArgument);
  // A reference alone is enough.
  REQUIRE(a.AddReference("s3://bucket/key").ok());
  CHECK(*store.Log(a, kRunA) == 1);
  CHECK(runtrack::ParseArtifactType("weights").status().message() ==
        "unknown artifact type 'weights'; valid types: model, dataset, config, code, custom");
}

TEST_CASE("names from outside never reach outside the root") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "ok", ArtifactType::kModel, "x");
  for (std::string spec : {"../../etc:v1", "..:latest", "/tmp/x", "a/b:v1", "ok/../../x"}) {
    INFO("spec: " << spec);
    CHECK(store.Use(spec, "").status().code() == StatusCode::kInvalidArgument);
  }
  CHECK(store.Use("ok:../../x", "").status().code() == StatusCode::kNotFound);
  CHECK(store.SetAlias("ok", "a/../../b", 1).code() == StatusCode::kInvalidArgument);
  CHECK(store.Use("ok", "../../../../tmp/evil_run").status().code() == StatusCode::kInvalidArgument);
  CHECK(store.GetVersion("../ok", 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(store.Lineage("..", 1).status().code() == StatusCode::kInvalidArgument);
  // Only the expected top-level entries exist under the root.
  std::set<std::string> top;
  for (auto& e : fs::directory_iterator(dir / "store")) top.insert(e.path().filename().string());
  CHECK(top == std::set<std::string>{"artifacts", "blobs"});
}

TEST_CASE("a manifest naming an unsafe path is refused") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "m", ArtifactType::kModel, "x");
  runtrack::artifacts::Manifest m;
  m.name = "m";
  m.type = ArtifactType::kModel;
  m.version = 1;
  m.files.push_back({"../../escape.txt", 0, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", {}});
  std::string text = runtrack::artifacts::SerializeManifest(&m);
  WriteFile(dir / "store/artifacts/model/m/v1/manifest.json", text);
  auto h = store.Use("m:v1", "");
  CHECK(h.status().code() == StatusCode::kCorruption);
  CHECK_THAT(h.status().message(), Catch::Contains("unsafe file path"));
}
