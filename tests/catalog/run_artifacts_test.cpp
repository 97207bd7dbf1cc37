#include <cmath>
#include <fstream>

#include <boost/json/serialize.hpp>

#include "catalog/catalog_support.h"
#include "runtrack/artifacts.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

TEST_CASE("runs that log and use artifacts show them in the catalog and in lineage") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  fs::path data = dir.path() / "train.csv";
  std::ofstream(data) << "x,y\n1,2\n";

  auto producer = NewRun(*store);
  auto dataset = Artifact::Create("mnist", ArtifactType::kDataset);
  REQUIRE(dataset.ok());
  REQUIRE(dataset->AddFile(data).ok());
  auto v = producer->LogArtifact(*dataset);
  REQUIRE(v.ok());
  CHECK(*v == 1);
  REQUIRE(producer->Finish().ok());

  auto consumer = NewRun(*store);
  auto handle = consumer->UseArtifact("mnist:latest");
  REQUIRE(handle.ok());
  CHECK(handle->info().version == 1);
  CHECK(*handle->ReadFile("train.csv") == "x,y\n1,2\n");
  auto missing = consumer->UseArtifact("cifar:v1");
  CHECK(missing.status().code() == StatusCode::kNotFound);
  REQUIRE(consumer->Finish().ok());

  auto catalog = OpenCatalog(dir.path());
  Index(*catalog);
  auto p = catalog->GetRun(producer->id());
  CHECK(p->run.artifacts_created_count == 1);
  REQUIRE(p->artifacts_created.size() == 1);
  CHECK(p->artifacts_created[0].name == "mnist");
  CHECK(p->artifacts_created[0].type == "dataset");
  CHECK(p->artifacts_created[0].version == 1);
  auto c = catalog->GetRun(consumer->id());
  CHECK(c->run.artifacts_used_count == 1);
  CHECK(c->run.artifacts_created_count == 0);

  auto artifacts = ArtifactStore::Open(dir.path());
  auto graph = artifacts->Lineage("mnist", 1);
  REQUIRE(graph.ok());
  bool produced = false, used = false;
  for (const auto& e : graph->edges) {
    produced = produced || (e.edge_type == "produces" && e.source.find(producer->id()) != std::string::npos);
    used = used || (e.edge_type == "uses" && e.target.find(consumer->id()) != std::string::npos);
  }
  CHECK(produced);
  CHECK(used);
}

TEST_CASE("an artifact whose metadata holds NaN stays listed, the NaN stored as null") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  fs::path file = dir.path() / "w.bin";
  std::ofstream(file) << "weights";
  auto run = NewRun(*store);
  auto model = Artifact::Create("net", ArtifactType::kModel);
  REQUIRE(model->AddFile(file).ok());
  model->AddMetadata({{"val_loss", std::nan("")}, {"epochs", 2}});
  REQUIRE(run->LogArtifact(*model).ok());
  auto artifacts = ArtifactStore::Open(dir.path());
  auto versions = artifacts->ListVersions("net");
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 1);
  CHECK(boost::json::serialize((*versions)[0].metadata) == R"({"val_loss":null,"epochs":2})");
}
