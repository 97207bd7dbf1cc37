// A writer's version deletes and restores reach the viewer (docs/REMOTE.md "Deleting and
// restoring a version"): after Finish (the Store's shipper, no sync), before the version was ever
// shipped (the version goes first, then its delete), while the viewer is down (the next Store or
// the sync path), and the route's refusals.
#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "alias_test_support.h"
#include "raw_http.h"
#include "remote/version_state_shipping.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
namespace http = boost::beast::http;
using runicorn::testing::HttpClient;
using runicorn::testing::LogVersion;
using runicorn::testing::RestartableViewer;

// The viewer's versions of `name`, soft-deleted ones included, as "v1:ready v2:deleted" (a
// permanently deleted version is not listed); "" when the name is unknown there.
std::string ServerStates(RestartableViewer& viewer, const std::string& name) {
  HttpClient http(viewer.port());
  auto r = http.Get(fmt::format("/api/artifacts/{}/versions?include_deleted=true", name));
  if (r.status == 404) return "";
  REQUIRE(r.status == 200);
  std::string out;
  const boost::json::value listing = r.json();  // kept: the loop reads into it
  for (const auto& v : listing.as_array()) {
    const auto& o = v.as_object();
    out += fmt::format("{}v{}:{}", out.empty() ? "" : " ", o.at("version").as_int64(),
                       std::string_view(o.at("status").as_string()));
  }
  return out;
}

// ServerStates once it equals `expected` (OnceEqual).
std::string ServerStatesOnceEqual(RestartableViewer& viewer, const std::string& name, const std::string& expected) {
  return runicorn::testing::OnceEqual([&] { return ServerStates(viewer, name); }, expected);
}

// A run on the node store that logs two versions of "resnet" and finishes (both on the viewer).
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

std::string Record(const fs::path& node, int version) {
  std::ifstream in(remote::ShippedStatesDir(StoreLayout(node), ArtifactType::kModel, "resnet") /
                   ("v" + std::to_string(version)));
  std::string s;
  std::getline(in, s);
  return s;
}

}  // namespace

TEST_CASE("version states: delete, restore and permanent delete after Finish reach the viewer without a sync",
          "[remote][artifacts][version-states]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  REQUIRE(LogVersion(**run, dir.path() / "w1.bin", "resnet", "weights one") == 1);
  REQUIRE(LogVersion(**run, dir.path() / "w2.bin", "resnet", "weights two") == 2);
  REQUIRE((*run)->Finish().ok());
  REQUIRE(ServerStates(viewer, "resnet") == "v1:ready v2:ready");
  CHECK(Record(dir.path() / "node", 1) == "ready");  // written when the version was marked shipped

  auto arts = (*store)->artifacts();
  REQUIRE(arts.ok());
  REQUIRE((*arts)->Delete("resnet", 2).ok());
  CHECK(ServerStatesOnceEqual(viewer, "resnet", "v1:ready v2:deleted") == "v1:ready v2:deleted");
  REQUIRE((*arts)->Restore("resnet", 2).ok());
  CHECK(ServerStatesOnceEqual(viewer, "resnet", "v1:ready v2:ready") == "v1:ready v2:ready");
  REQUIRE((*arts)->Delete("resnet", 1, DeleteMode::kPermanent).ok());
  CHECK(ServerStatesOnceEqual(viewer, "resnet", "v2:ready") == "v2:ready");
  // What the viewer now holds, recorded (so nothing is sent again).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Record(dir.path() / "node", 1) != "purged" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(Record(dir.path() / "node", 1) == "purged");
  CHECK(Record(dir.path() / "node", 2) == "ready");
  auto pending = remote::PendingStateChanges(StoreLayout(dir.path() / "node"), ArtifactType::kModel, "resnet");
  REQUIRE(pending.ok());
  CHECK(pending->empty());
}

TEST_CASE("version states: a version deleted before it was shipped arrives first, then its delete",
          "[remote][artifacts][version-states]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  std::string id;
  {
    // Logged and deleted by a Store without a server: nothing of it is on the viewer yet.
    auto store = Store::Open(dir.path() / "node");
    REQUIRE(store.ok());
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    id = (*run)->id();
    REQUIRE(LogVersion(**run, dir.path() / "w1.bin", "resnet", "weights one") == 1);
    REQUIRE(LogVersion(**run, dir.path() / "w2.bin", "resnet", "weights two") == 2);
    REQUIRE(LogVersion(**run, dir.path() / "w3.bin", "resnet", "weights three") == 3);
    REQUIRE((*run)->Finish().ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->Delete("resnet", 1).ok());
    REQUIRE((*arts)->Delete("resnet", 3, DeleteMode::kPermanent).ok());
  }
  // Nothing to send for a version the viewer lacks: the delete waits for the version.
  auto before = remote::PendingStateChanges(StoreLayout(dir.path() / "node"), ArtifactType::kModel, "resnet");
  REQUIRE(before.ok());
  CHECK(before->empty());
  CHECK(ServerStates(viewer, "resnet") == "");

  ShipperOptions options;
  options.server = viewer.url();
  auto sync = ShipRunArtifacts(StoreLayout(dir.path() / "node"), id, options, 3);
  REQUIRE(sync.ok());
  CHECK(sync->versions_shipped == 2);  // v1 (deleted here, so it goes as ready first) and v2; v3 is purged
  CHECK(sync->state_changes == 1);     // then v1's delete
  CHECK(ServerStates(viewer, "resnet") == "v1:deleted v2:ready");
  CHECK(Record(dir.path() / "node", 1) == "deleted");
  CHECK(Record(dir.path() / "node", 3) == "");  // never on the server: nothing recorded, nothing sent

  auto again = ShipRunArtifacts(StoreLayout(dir.path() / "node"), id, options, 3);
  REQUIRE(again.ok());
  CHECK(again->requests == 0);
}

TEST_CASE("version states: changes made while the viewer is down go with the next Store, or the sync path",
          "[remote][artifacts][version-states]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  const std::string id = ShipTwoVersions(dir.path() / "node", dir.path(), viewer.url());
  viewer.Stop();
  {
    // The closing Store waits its finish_timeout for the changes, then leaves them pending.
    auto store = Store::Open(dir.path() / "node",
                             StoreOptions{.server = viewer.url(), .finish_timeout = std::chrono::milliseconds(500)});
    REQUIRE(store.ok());
    auto arts = (*store)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->Delete("resnet", 1).ok());
    REQUIRE((*arts)->Delete("resnet", 2).ok());
  }
  CHECK(Record(dir.path() / "node", 1) == "ready");
  CHECK(Record(dir.path() / "node", 2) == "ready");
  viewer.Start();  // same port, same central store
  CHECK(ServerStates(viewer, "resnet") == "v1:ready v2:ready");
  {
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
    REQUIRE(store.ok());
    CHECK(ServerStatesOnceEqual(viewer, "resnet", "v1:deleted v2:deleted") == "v1:deleted v2:deleted");
  }
  CHECK(Record(dir.path() / "node", 1) == "deleted");

  // Down again; a restore is sent by `runicorn sync`'s call for the run (no Store open).
  viewer.Stop();
  {
    auto local = Store::Open(dir.path() / "node");
    REQUIRE(local.ok());
    auto arts = (*local)->artifacts();
    REQUIRE(arts.ok());
    REQUIRE((*arts)->Restore("resnet", 2).ok());
  }
  viewer.Start();
  ShipperOptions options;
  options.server = viewer.url();
  auto sync = ShipRunArtifacts(StoreLayout(dir.path() / "node"), id, options, 3);
  REQUIRE(sync.ok());
  CHECK(sync->requests == 1);
  CHECK(sync->state_changes == 1);
  CHECK(ServerStates(viewer, "resnet") == "v1:deleted v2:ready");
  CHECK(Record(dir.path() / "node", 2) == "ready");
}

TEST_CASE("version states: the ingest state route is idempotent and refuses what it cannot apply",
          "[remote][artifacts][version-states]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "viewer-token");
  {
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url(), .token = "viewer-token"});
    REQUIRE(store.ok());
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    REQUIRE(LogVersion(**run, dir.path() / "w.bin", "net", "bytes") == 1);
    REQUIRE((*run)->Finish().ok());
  }
  HttpClient http(viewer.port());
  const std::map<std::string, std::string> auth{{"authorization", "Bearer viewer-token"}};
  auto put = [&](const std::string& target, const std::string& body) {
    return http.Request(http::verb::put, target, body, auth);
  };
  auto listing = [&] {
    auto r = http.Request(http::verb::get, "/api/artifacts/net/versions?include_deleted=true", {}, auth);
    REQUIRE(r.status == 200);
    const boost::json::value v = r.json();
    return std::string(v.as_array().at(0).as_object().at("status").as_string());
  };

  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "deleted"})").body ==
        R"({"name":"net","version":1,"state":"deleted","changed":true})");
  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "deleted"})").body ==
        R"({"name":"net","version":1,"state":"deleted","changed":false})");
  CHECK(listing() == "deleted");
  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "ready"})").body ==
        R"({"name":"net","version":1,"state":"ready","changed":true})");
  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "ready"})").body ==
        R"({"name":"net","version":1,"state":"ready","changed":false})");
  CHECK(listing() == "ready");

  auto no_token = http.Request(http::verb::put, "/api/ingest/artifacts/net/v1/state", R"({"state": "deleted"})");
  CHECK(no_token.status == 401);
  CHECK(no_token.body == R"({"detail":"Not authenticated"})");
  auto bad_token = http.Request(http::verb::put, "/api/ingest/artifacts/net/v1/state", R"({"state": "deleted"})",
                                {{"authorization", "Bearer wrong"}});
  CHECK(bad_token.status == 401);
  auto form = runicorn::testing::Send(viewer.port(), http::verb::put, "/api/ingest/artifacts/net/v1/state",
                                      {{"Host", fmt::format("127.0.0.1:{}", viewer.port())},
                                       {"Authorization", "Bearer viewer-token"},
                                       {"Content-Type", "text/plain"}},
                                      "state=deleted");
  CHECK(form.status == 415);
  auto unknown_version = put("/api/ingest/artifacts/net/v7/state", R"({"state": "deleted"})");
  CHECK(unknown_version.status == 404);
  auto unknown_name = put("/api/ingest/artifacts/other/v1/state", R"({"state": "deleted"})");
  CHECK(unknown_name.status == 404);
  auto bad_state = put("/api/ingest/artifacts/net/v1/state", R"({"state": "gone"})");
  CHECK(bad_state.status == 400);
  CHECK(bad_state.detail() == R"(Invalid state 'gone': expected "ready", "deleted" or "purged")");
  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "deleted", "x": 1})").status == 400);
  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({})").status == 400);
  CHECK(listing() == "ready");  // none of the refusals changed it

  CHECK(put("/api/ingest/artifacts/net/v1/state", R"({"state": "purged"})").body ==
        R"({"name":"net","version":1,"state":"purged","changed":true})");
  auto purged_again = put("/api/ingest/artifacts/net/v1/state", R"({"state": "purged"})");
  CHECK(purged_again.status == 404);  // gone: the writer takes this as done
  auto restore_purged = put("/api/ingest/artifacts/net/v1/state", R"({"state": "ready"})");
  CHECK(restore_purged.status == 404);
}
