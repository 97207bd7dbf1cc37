// The ingest scope (docs/REMOTE.md "Auth"): PUT /api/ingest needs the viewer's token or its
// ingest token; the ingest token may do nothing else; the local CLI token may not ingest.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "journal/journal_format.h"
#include "remote/ingest_client.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "test_support.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;
namespace http = boost::beast::http;

std::string Journal(const std::string& id) {
  std::string j = journal::EncodeHeader();
  journal::AppendRecord(&j, journal::RecordType::kRunStart, fmt::format(R"({{"id":"{}"}})", id));
  return j;
}

int Put(const RestartableViewer& viewer, const std::string& token, const std::string& id, std::string* body = nullptr) {
  remote::IngestClient c(ShipperOptions{.server = viewer.url(), .token = token});
  auto r = c.Put(id, "0", 0, CompressIngestBody(Journal(id)));
  if (body != nullptr) *body = r.body;
  return static_cast<int>(r.status);
}

}  // namespace

TEST_CASE("ingest auth: ingest token and viewer token may ingest, no token, a wrong one or the CLI's may not",
          "[remote][auth]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "main-token",
                           [](runicorn::server::ApiOptions& a) {
                             a.ingest_token = "ingest-only";
                             a.local_token = "local-cli";
                           });
  StoreLayout central(dir.path() / "central");
  std::string body;
  CHECK(Put(viewer, "ingest-only", "20261203_120000_aaaaa1") == 200);
  CHECK(Put(viewer, "main-token", "20261203_120000_aaaaa2") == 200);
  CHECK(Put(viewer, "", "20261203_120000_aaaaa3", &body) == 401);
  CHECK(body == R"({"detail":"Not authenticated"})");
  CHECK(Put(viewer, "local-cli", "20261203_120000_aaaaa4", &body) == 401);  // read/manage scope only
  CHECK(Put(viewer, "ingest-onlyX", "20261203_120000_aaaaa5") == 401);
  CHECK(fs::exists(central.journal_path("20261203_120000_aaaaa1")));
  CHECK(fs::exists(central.journal_path("20261203_120000_aaaaa2")));
  for (const char* refused : {"20261203_120000_aaaaa3", "20261203_120000_aaaaa4", "20261203_120000_aaaaa5"})
    CHECK_FALSE(fs::exists(central.run_dir(refused)));

  // The ingest token reads nothing.
  runicorn::testing::HttpClient client(viewer.port());
  auto read = client.Request(http::verb::get, "/api/runs", {}, {{"Authorization", "Bearer ingest-only"}});
  CHECK(read.status == 401);
  CHECK(read.detail() == "Not authenticated");
  auto probe = client.Request(http::verb::get, "/api/no-such-route", {}, {{"Authorization", "Bearer ingest-only"}});
  CHECK(probe.status == 401);
  auto cli = client.Request(http::verb::get, "/api/runs", {}, {{"Authorization", "Bearer local-cli"}});
  CHECK(cli.status == 200);
}

TEST_CASE("ingest auth: an ingest token alone guards ingest on a viewer without a token", "[remote][auth]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "",
                           [](runicorn::server::ApiOptions& a) { a.ingest_token = "ingest-only"; });
  CHECK(Put(viewer, "", "20261203_120000_bbbbb1") == 401);
  CHECK(Put(viewer, "wrong", "20261203_120000_bbbbb2") == 401);
  CHECK(Put(viewer, "ingest-only", "20261203_120000_bbbbb3") == 200);
  runicorn::testing::HttpClient client(viewer.port());
  CHECK(client.Request(http::verb::get, "/api/runs").status == 200);  // reading stays open, as before
}

TEST_CASE("ingest auth: a Store shipping with the ingest token lands its run", "[remote][auth][e2e]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json", "main-token",
                           [](runicorn::server::ApiOptions& a) { a.ingest_token = "ingest-only"; });
  StoreOptions o;
  o.server = viewer.url();
  o.token = "ingest-only";
  auto store = Store::Open(dir.path() / "node", o);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  for (int s = 1; s <= 100; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  const std::string id = (*run)->id();
  REQUIRE((*run)->Finish().ok());
  auto acked = ReadShippedOffset((*store)->layout(), id);
  REQUIRE(acked.ok());
  CHECK(*acked == fs::file_size((*store)->layout().journal_path(id)));
}
