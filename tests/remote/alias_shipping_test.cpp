// User aliases of shipped artifacts (docs/REMOTE.md "Artifacts", "User aliases"): a writer's
// set, move and removal reach the viewer's alias table; a resend changes nothing; the ingest
// routes refuse what cannot be applied.
#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "artifacts/layout.h"
#include "runtrack/artifact_transfer.h"
#include "runtrack/artifacts.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "test_support.h"
#include "alias_test_support.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::HttpClient;
using runicorn::testing::LogVersion;
using runicorn::testing::ServerAliases;
using runicorn::testing::RestartableViewer;
namespace http = boost::beast::http;

}  // namespace

TEST_CASE("alias shipping: a writer's alias set, move and removal reach the viewer, a resend changes nothing",
          "[remote][artifacts][aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  StoreOptions so;
  so.server = viewer.url();
  auto store = Store::Open(dir.path() / "node", so);
  REQUIRE(store.ok());
  auto arts = (*store)->artifacts();
  REQUIRE(arts.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  REQUIRE(LogVersion(**run, dir.path() / "w1.bin", "resnet", "weights one") == 1);
  REQUIRE(LogVersion(**run, dir.path() / "w2.bin", "resnet", "weights two") == 2);
  REQUIRE((*arts)->SetAlias("resnet", "production", 1).ok());
  REQUIRE((*arts)->SetAlias("resnet", "best", 2).ok());
  // Finish() waits for a shipper round started after it that found every version on the
  // viewer; that round ships the aliases after the versions.
  REQUIRE((*run)->Finish().ok());
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"best":2,"latest":2,"production":1}})");

  // With no shipper left on the store (Run and Store closed; the ArtifactStore stays usable): a
  // move and a removal go with the next sync of the run (`runicorn sync`'s call). While a Store
  // with a server is open they ship by themselves (store_alias_shipping_test.cpp).
  const StoreLayout layout = (*store)->layout();
  run->reset();
  store->reset();
  REQUIRE((*arts)->SetAlias("resnet", "production", 2).ok());
  REQUIRE((*arts)->RemoveAlias("resnet", "best").ok());
  ShipperOptions options;
  options.server = viewer.url();
  auto shipped = ShipRunArtifacts(layout, id, options, 3);
  REQUIRE(shipped.ok());
  CHECK(shipped->alias_changes == 2);
  CHECK(shipped->requests == 2);  // one PUT (the move), one DELETE; no version was resent
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"latest":2,"production":2}})");

  // Nothing changed since: no request.
  auto again = ShipRunArtifacts(layout, id, options, 3);
  REQUIRE(again.ok());
  CHECK(again->requests == 0);
  CHECK(again->alias_changes == 0);

  // A crash between the viewer's answer and the local record: the record is lost, the PUT is
  // sent again and changes nothing there.
  fs::remove_all(artifacts::Layout(layout.root()).name_dir(ArtifactType::kModel, "resnet") / ".shipped-aliases");
  auto resend = ShipRunArtifacts(layout, id, options, 3);
  REQUIRE(resend.ok());
  CHECK(resend->requests == 1);
  CHECK(resend->alias_changes == 0);
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"latest":2,"production":2}})");

  // Someone on the viewer moves the alias; the writer's later removal leaves that move alone.
  HttpClient http(viewer.port());
  REQUIRE(http.Request(http::verb::put, "/api/artifacts/resnet/aliases/production", R"({"version": 1})").status ==
          200);
  REQUIRE((*arts)->RemoveAlias("resnet", "production").ok());
  auto removed = ShipRunArtifacts(layout, id, options, 3);
  REQUIRE(removed.ok());
  CHECK(removed->requests == 1);
  CHECK(removed->alias_changes == 0);
  CHECK(ServerAliases(viewer, "resnet") == R"({"name":"resnet","aliases":{"latest":2,"production":1}})");
}

TEST_CASE("alias shipping: the ingest alias routes refuse what cannot be applied", "[remote][artifacts][aliases]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  {
    auto store = Store::Open(dir.path() / "node", StoreOptions{.server = viewer.url()});
    REQUIRE(store.ok());
    auto run = (*store)->CreateRun({});
    REQUIRE(run.ok());
    REQUIRE(LogVersion(**run, dir.path() / "w.bin", "net", "bytes") == 1);
    REQUIRE((*run)->Finish().ok());
  }
  HttpClient http(viewer.port());
  auto put = [&](const std::string& target, const std::string& body) {
    return http.Request(http::verb::put, target, body);
  };
  auto missing_version = put("/api/ingest/artifacts/net/aliases/prod", R"({"version": 7})");
  CHECK(missing_version.status == 404);
  CHECK(missing_version.detail() == "net:v7 is not on the server");
  auto missing_name = put("/api/ingest/artifacts/other/aliases/prod", R"({"version": 1})");
  CHECK(missing_name.status == 404);
  CHECK(missing_name.detail() == "artifact 'other' is not on the server");
  CHECK(put("/api/ingest/artifacts/net/aliases/latest", R"({"version": 1})").status == 400);
  CHECK(put("/api/ingest/artifacts/net/aliases/prod", R"({"version": 0})").status == 400);
  CHECK(put("/api/ingest/artifacts/net/aliases/prod", R"({"version": "1"})").status == 400);
  CHECK(put("/api/ingest/artifacts/net/aliases/prod", R"({"version": 1, "extra": 2})").status == 400);
  auto no_version = http.Request(http::verb::delete_, "/api/ingest/artifacts/net/aliases/prod");
  CHECK(no_version.status == 400);
  CHECK(no_version.detail() == "Missing query parameter 'version': the version the alias pointed at");
  CHECK(ServerAliases(viewer, "net") == R"({"name":"net","aliases":{"latest":1}})");

  // Applied, then the same again: changed once; removal only at the version given.
  CHECK(put("/api/ingest/artifacts/net/aliases/prod", R"({"version": 1})").body ==
        R"({"name":"net","alias":"prod","version":1,"changed":true})");
  CHECK(put("/api/ingest/artifacts/net/aliases/prod", R"({"version": 1})").body ==
        R"({"name":"net","alias":"prod","version":1,"changed":false})");
  CHECK(http.Request(http::verb::delete_, "/api/ingest/artifacts/net/aliases/prod?version=2").body ==
        R"({"name":"net","alias":"prod","removed":false})");
  CHECK(ServerAliases(viewer, "net") == R"({"name":"net","aliases":{"latest":1,"prod":1}})");
  CHECK(http.Request(http::verb::delete_, "/api/ingest/artifacts/net/aliases/prod?version=1").body ==
        R"({"name":"net","alias":"prod","removed":true})");
  CHECK(http.Request(http::verb::delete_, "/api/ingest/artifacts/net/aliases/prod?version=1").body ==
        R"({"name":"net","alias":"prod","removed":false})");
  CHECK(ServerAliases(viewer, "net") == R"({"name":"net","aliases":{"latest":1}})");
}
