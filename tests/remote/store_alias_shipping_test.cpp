// User aliases changed on a writer's store after its run finished, or by a process with no run
// (docs/REMOTE.md "User aliases"): the Store's shipper sends them without `runicorn sync`; a
// Store closed right after a change waits for it (bounded); a change made while the viewer is
// down is sent by the next Store opened on the root, or by the sync path, and nothing is lost.
#include <chrono>
#include <map>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "alias_test_support.h"
#include "artifacts/alias_table.h"
#include "artifacts/layout.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::LogVersion;
using runicorn::testing::RestartableViewer;
using runicorn::testing::ServerAliases;
using runicorn::testing::ServerAliasesOnceEqual;

// A run on the node store that logs two versions of "resnet" and finishes, so both are on the
// viewer (Finish waits for that). Returns the run id.
std::string ShipTwoVersions(const fs::path& node, const fs::path& scratch, const std::string& server) {
  auto store = Store::Open(node, StoreOptions{.server = server});
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  REQUIRE(LogVersion(**run, scratch / "w1.bin", "resnet", "weights one") == 1);
  REQUIRE(LogVersion(**run, scratch / "w2.bin", "resnet", "weights two") == 2);
  REQUIRE((*run)->Finish().ok());
  return (*run)->id();
}

// What the node store last told the server about resnet's aliases (<name dir>/.shipped-aliases).
std::map<std::string, int> ShippedRecord(const fs::path& node) {
  auto record = artifacts::ReadAliases(artifacts::Layout(node).name_dir(ArtifactType::kModel, "resnet") /
                                       ".shipped-aliases");
  REQUIRE(record.ok());
  return *record;
}

// ShippedRecord once it equals `expected` (the shipper thread writes it after the viewer's answer).
std::map<std::string, int> ShippedRecordOnceEqual(const fs::path& node, const std::map<std::string, int>& expected) {
  return runicorn::testing::OnceEqual([&] { return ShippedRecord(node); }, expected);
}

}  // namespace

TEST_CASE("store aliases: a set, move and removal after Finish reach the viewer without a sync",
          "[remote][artifacts][aliases][store-aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  REQUIRE(LogVersion(**run, dir.path() / "w1.bin", "resnet", "weights one") == 1);
  REQUIRE(LogVersion(**run, dir.path() / "w2.bin", "resnet", "weights two") == 2);
  REQUIRE((*run)->Finish().ok());
  REQUIRE(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"latest":2}})");

  // The run is finished (its shipper no longer watches it); the Store's shipper is still running.
  auto arts = (*store)->artifacts();
  REQUIRE(arts.ok());
  REQUIRE((*arts)->SetAlias("resnet", "production", 1).ok());
  const std::string set = R"({"name":"resnet","aliases":{"latest":2,"production":1}})";
  CHECK(ServerAliasesOnceEqual(viewer, "resnet", set) == set);

  REQUIRE((*arts)->SetAlias("resnet", "production", 2).ok());
  const std::string moved = R"({"name":"resnet","aliases":{"latest":2,"production":2}})";
  CHECK(ServerAliasesOnceEqual(viewer, "resnet", moved) == moved);

  REQUIRE((*arts)->RemoveAlias("resnet", "production").ok());
  const std::string removed = R"({"name":"resnet","aliases":{"latest":2}})";
  CHECK(ServerAliasesOnceEqual(viewer, "resnet", removed) == removed);

  // Closed (after the shipper wrote its record of the removal), the sync path finds nothing left
  // to send: every change was recorded as shipped.
  const StoreLayout layout = (*store)->layout();
  const std::string id = (*run)->id();
  run->reset();
  store->reset();
  CHECK(ShippedRecord(dir.path() / "node").empty());
  ShipperOptions options;
  options.server = viewer.url();
  auto sync = ShipRunArtifacts(layout, id, options, 3);
  REQUIRE(sync.ok());
  CHECK(sync->requests == 0);
}

TEST_CASE("store aliases: a Store with no run that changes an alias waits for it when it closes",
          "[remote][artifacts][aliases][store-aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  ShipTwoVersions(dir.path() / "node", dir.path(), viewer.url());
  {
    // A script that only moves aliases: it opens the store, changes them and exits.
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->SetAlias("resnet", "production", 1).ok());
    REQUIRE((*arts)->SetAlias("resnet", "best", 2).ok());
  }  // ~Store: bounded by finish_timeout, until the server has both
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"best":2,"latest":2,"production":1}})");
  CHECK(ShippedRecord(dir.path() / "node") == std::map<std::string, int>{{"best", 2}, {"production", 1}});
}

TEST_CASE("store aliases: changes made while the viewer is down are shipped by the next Store, nothing lost",
          "[remote][artifacts][aliases][store-aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  ShipTwoVersions(dir.path() / "node", dir.path(), viewer.url());
  {
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->SetAlias("resnet", "production", 1).ok());
    REQUIRE((*arts)->SetAlias("resnet", "best", 1).ok());
  }
  REQUIRE(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"best":1,"latest":2,"production":1}})");

  viewer.Stop();
  {
    // The viewer is down: the closing Store waits its finish_timeout, then leaves the changes.
    auto store = Store::Open(dir.path() / "node",
                             StoreOptions{.server = viewer.url(), .finish_timeout = std::chrono::milliseconds(500)});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->SetAlias("resnet", "production", 2).ok());  // a move
    REQUIRE((*arts)->RemoveAlias("resnet", "best").ok());         // a removal
    REQUIRE((*arts)->SetAlias("resnet", "candidate", 2).ok());    // a new one
  }
  CHECK(ShippedRecord(dir.path() / "node") == std::map<std::string, int>{{"best", 1}, {"production", 1}});

  viewer.Start();  // same port, same central store
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"best":1,"latest":2,"production":1}})");
  // The next Store opened on the root (no run, not closed yet) sends them on its own.
  auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
  REQUIRE(store.ok());
  const std::string all = R"({"name":"resnet","aliases":{"candidate":2,"latest":2,"production":2}})";
  CHECK(ServerAliasesOnceEqual(viewer, "resnet", all) == all);
  const std::map<std::string, int> record{{"candidate", 2}, {"production", 2}};
  CHECK(ShippedRecordOnceEqual(dir.path() / "node", record) == record);
}

TEST_CASE("store aliases: changes made while the viewer is down are shipped by the sync path",
          "[remote][artifacts][aliases][store-aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const std::string id = ShipTwoVersions(dir.path() / "node", dir.path(), viewer.url());
  viewer.Stop();
  {
    auto store = Store::Open(dir.path() / "node",
                             StoreOptions{.server = viewer.url(), .finish_timeout = std::chrono::milliseconds(500)});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->SetAlias("resnet", "production", 2).ok());
  }
  CHECK(ShippedRecord(dir.path() / "node").empty());
  viewer.Start();
  // `runicorn sync`'s call for the run that produced the version; no Store is open.
  ShipperOptions options;
  options.server = viewer.url();
  auto sync = ShipRunArtifacts(StoreLayout(dir.path() / "node"), id, options, 3);
  REQUIRE(sync.ok());
  CHECK(sync->requests == 1);
  CHECK(sync->alias_changes == 1);
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"latest":2,"production":2}})");
  CHECK(ShippedRecord(dir.path() / "node") == std::map<std::string, int>{{"production", 2}});
}

TEST_CASE("store aliases: an alias on a version the viewer does not have is not sent",
          "[remote][artifacts][aliases][store-aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  ShipTwoVersions(dir.path() / "node", dir.path(), viewer.url());
  {
    // Version 3 is logged by a run of a Store without a server: it is not on the viewer.
    auto local = Store::Open(dir.path() / "node");
    REQUIRE(local.ok());
    auto run = (*local)->CreateRun({});
    REQUIRE(run.ok());
    REQUIRE(LogVersion(**run, dir.path() / "w3.bin", "resnet", "weights three") == 3);
    REQUIRE((*run)->Finish().ok());
  }
  {
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->SetAlias("resnet", "production", 3).ok());  // left to whoever ships v3
    REQUIRE((*arts)->SetAlias("resnet", "best", 2).ok());
  }
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"best":2,"latest":2}})");
  CHECK(ShippedRecord(dir.path() / "node") == std::map<std::string, int>{{"best", 2}});
}
