#include <catch2/catch.hpp>

#include <set>

#include "artifact_test_util.h"

using namespace artifact_test;
using runtrack::ArtifactType;
using runtrack::DeleteMode;

namespace {

std::set<std::string> NodeIds(const runtrack::LineageGraph& g) {
  std::set<std::string> out;
  for (const auto& n : g.nodes) out.insert(n.node_id);
  return out;
}

std::vector<std::string> Edges(const runtrack::LineageGraph& g) {
  std::vector<std::string> out;
  for (const auto& e : g.edges) out.push_back(e.source + " -" + e.edge_type + "-> " + e.target);
  return out;
}

// dataset v1 -> run A -> model v1 -> run B -> model v2 (and run C uses model v2)
void BuildChain(runtrack::ArtifactStore& store, const fs::path& scratch) {
  LogText(store, scratch, "cifar", ArtifactType::kDataset, "images", "");
  REQUIRE(store.Use("cifar:v1", kRunA).ok());
  LogText(store, scratch, "net", ArtifactType::kModel, "weights 1", kRunA);
  REQUIRE(store.Use("net:v1", kRunB).ok());
  LogText(store, scratch, "net", ArtifactType::kModel, "weights 2", kRunB);
  REQUIRE(store.Use("net:v2", kRunC).ok());
}

}  // namespace

TEST_CASE("lineage of a middle version reaches both upstream and downstream") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  BuildChain(store, dir.path());
  auto g = store.Lineage("net", 1);
  REQUIRE(g.ok());
  CHECK(g->root_artifact == "net:v1");
  CHECK(NodeIds(*g) == std::set<std::string>{"cifar:v1", kRunA, "net:v1", kRunB, "net:v2", kRunC});
  CHECK(Edges(*g) == std::vector<std::string>{
                         std::string(kRunA) + " -produces-> net:v1",
                         std::string(kRunB) + " -produces-> net:v2",
                         std::string("cifar:v1 -uses-> ") + kRunA,
                         std::string("net:v1 -uses-> ") + kRunB,
                         std::string("net:v2 -uses-> ") + kRunC,
                     });
  const auto& root = g->nodes.front();
  CHECK(root.node_id == "net:v1");
  CHECK(root.direction == "root");
  CHECK(root.label == "net v1");
  CHECK(root.artifact_type == "model");
  CHECK(root.size_bytes == 9);
  for (const auto& n : g->nodes) {
    if (n.node_id == "cifar:v1") {
      CHECK(n.direction == "upstream");
      CHECK(n.depth == 2);
    }
    if (n.node_id == "net:v2") {
      CHECK(n.direction == "downstream");
      CHECK(n.depth == 2);
    }
    if (n.node_id == kRunC) CHECK(n.depth == 3);
  }
}

TEST_CASE("max_depth limits both directions") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  BuildChain(store, dir.path());
  auto d0 = store.Lineage("net", 1, 0);
  REQUIRE(d0.ok());
  CHECK(NodeIds(*d0) == std::set<std::string>{"net:v1"});
  CHECK(d0->edges.empty());
  auto d1 = store.Lineage("net", 1, 1);
  CHECK(NodeIds(*d1) == std::set<std::string>{kRunA, "net:v1", kRunB});
  CHECK(d1->edges.size() == 2);
  auto d2 = store.Lineage("net", 1, 2);
  CHECK(NodeIds(*d2) == std::set<std::string>{"cifar:v1", kRunA, "net:v1", kRunB, "net:v2"});
  auto big = store.Lineage("net", 1, 99);  // clamped to 10
  REQUIRE(big.ok());
  CHECK(big->nodes.size() == 6);
  CHECK(store.Lineage("net", 1, -1).status().code() == runtrack::StatusCode::kInvalidArgument);
  CHECK(store.Lineage("net", 7).status().code() == runtrack::StatusCode::kNotFound);
}

TEST_CASE("lineage from the dataset walks downstream through two runs") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  BuildChain(store, dir.path());
  auto g = store.Lineage("cifar", 1, 3);
  REQUIRE(g.ok());
  CHECK(NodeIds(*g) == std::set<std::string>{"cifar:v1", kRunA, "net:v1", kRunB});
  auto up = store.Lineage("net", 2, 10);
  REQUIRE(up.ok());
  CHECK(NodeIds(*up) == std::set<std::string>{"cifar:v1", kRunA, "net:v1", kRunB, "net:v2", kRunC});
}

TEST_CASE("permanently deleted versions drop out of lineage") {
  ScratchDir dir;
  auto store = OpenStore(dir / "store");
  BuildChain(store, dir.path());
  REQUIRE(store.Delete("cifar", 1, DeleteMode::kPermanent).ok());
  REQUIRE(store.Delete("net", 2, DeleteMode::kSoft).ok());
  auto g = store.Lineage("net", 1);
  REQUIRE(g.ok());
  CHECK(NodeIds(*g) == std::set<std::string>{kRunA, "net:v1", kRunB, "net:v2", kRunC});
  for (const auto& n : g->nodes) {
    if (n.node_id == "net:v2") CHECK(n.status == "deleted");
  }
}
