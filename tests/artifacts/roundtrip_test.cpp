#include <catch2/catch.hpp>

#include "artifact_test_util.h"
#include "artifacts/sha256.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::StatusCode;

TEST_CASE("files from 0 bytes to over 64 MiB download byte-exact") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  const std::vector<size_t> sizes = {0, 1, 63, 4096, 256 * 1024 - 1, 256 * 1024, 1 << 20,
                                     (3 << 20) + 17, (64u << 20) + 12345};
  auto a = MakeArtifact("sizes", ArtifactType::kDataset);
  for (size_t i = 0; i < sizes.size(); ++i) {
    WriteFile(dir / ("in/f" + std::to_string(i)), RandomBytes(sizes[i], i + 1));
    REQUIRE(a.AddFile(dir / ("in/f" + std::to_string(i))).ok());
  }
  auto v = store.Log(a, kRunA);
  REQUIRE(v.ok());
  CHECK(*v == 1);

  auto h = store.Use("sizes:v1", "");
  REQUIRE(h.ok());
  REQUIRE(h->files().size() == sizes.size());
  REQUIRE(h->Download(dir / "out").ok());
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string expected = RandomBytes(sizes[i], i + 1);
    std::string got = ReadFile(dir / ("out/f" + std::to_string(i)));
    REQUIRE(got.size() == sizes[i]);
    CHECK(got == expected);
    CHECK(h->files()[i].digest == "sha256:" + runtrack::artifacts::Sha256Hex(expected));
    CHECK(h->files()[i].size == sizes[i]);
  }
  CHECK(h->files()[0].num_chunks == 0);  // an empty file has no chunks
  CHECK(h->info().size_bytes == (0 + 1 + 63 + 4096 + 256 * 1024 - 1 + 256 * 1024 + (1 << 20) + (3 << 20) + 17 +
                                 (64u << 20) + 12345));
  // No temporary files are left next to the downloaded ones.
  CHECK(CountFiles(dir / "out") == sizes.size());
}

TEST_CASE("many files and unicode names round-trip through a directory") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back("sub" + std::to_string(i % 7) + "/file-" + std::to_string(i) + ".txt");
  names.push_back("模型/权重 ü é.bin");
  names.push_back("données/naïve 🚀.json");
  for (size_t i = 0; i < names.size(); ++i) WriteFile(dir / ("tree/" + names[i]), RandomBytes(100 + i, 1000 + i));
  WriteFile(dir / "tree/skip.tmp", "excluded");
  WriteFile(dir / "tree/sub1/cache/x.pyc", "excluded");

  auto a = MakeArtifact("数据集-ü", ArtifactType::kDataset);
  REQUIRE(a.AddDir(dir / "tree", "data", {"*.tmp", "*.pyc"}).ok());
  REQUIRE(a.files().size() == names.size());
  REQUIRE(store.Log(a, kRunA).ok());

  auto h = store.Use("数据集-ü", kRunB);
  REQUIRE(h.ok());
  REQUIRE(h->Download(dir / "out").ok());
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(ReadFile(dir / ("out/data/" + names[i])) == RandomBytes(100 + i, 1000 + i));
  }
  CHECK(CountFiles(dir / "out") == names.size());
  auto one = h->ReadFile("data/模型/权重 ü é.bin");
  REQUIRE(one.ok());
  CHECK(*one == RandomBytes(100 + names.size() - 2, 1000 + names.size() - 2));

  auto missing = h->ReadFile("data/nope");
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_CASE("download detects a corrupted chunk and leaves no file behind") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  std::string content = RandomBytes(3 << 20, 7);
  LogText(store, dir.path(), "weights", ArtifactType::kModel, content);
  auto h = store.Use("weights", "");
  REQUIRE(h.ok());
  auto files = store.ListFiles("weights", 1);
  REQUIRE(files.ok());

  // Flip one byte in the middle of the blob pool.
  fs::path victim;
  for (auto& e : fs::recursive_directory_iterator(dir / "store/blobs")) {
    if (e.is_regular_file()) victim = e.path();
  }
  std::string bytes = ReadFile(victim);
  bytes[bytes.size() / 2] ^= 0x5a;
  WriteFile(victim, bytes);

  runtrack::Status s = h->Download(dir / "out");
  CHECK(s.code() == StatusCode::kCorruption);
  CHECK_THAT(s.message(), Catch::Contains("chunk " + victim.filename().string() + " of file 'data.bin'"));
  CHECK_FALSE(fs::exists(dir / "out/data.bin"));
  CHECK(CountFiles(dir / "out") == 0);

  fs::remove(victim);
  s = h->Download(dir / "out");
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK_THAT(s.message(), Catch::Contains("is missing from the store"));
}

TEST_CASE("a tampered manifest is reported as corrupted") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  LogText(store, dir.path(), "cfg", ArtifactType::kConfig, "lr: 0.1");
  fs::path manifest = dir / "store/artifacts/config/cfg/v1/manifest.json";
  std::string text = ReadFile(manifest);
  auto at = text.find("\"size_bytes\":7");
  REQUIRE(at != std::string::npos);
  text.replace(at, 14, "\"size_bytes\":8");
  WriteFile(manifest, text);
  auto info = store.GetVersion("cfg", 1);
  REQUIRE(info.ok());
  CHECK(info->status == "corrupted");
  auto use = store.Use("cfg:v1", "");
  CHECK(use.status().code() == StatusCode::kCorruption);
  CHECK_THAT(use.status().message(), Catch::Contains("digest mismatch"));
}
