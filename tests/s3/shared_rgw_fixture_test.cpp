// ctest's fixture for the run's shared Ceph RGW (tests/shared_test_servers.h, tests/CMakeLists.txt):
// hidden cases (tag "[.…]"), run only by name, never by a plain run of this program.
#include <catch2/catch.hpp>

#include "rgw_test_server.h"

using runicorn::testing::RgwTestServer;

namespace {

std::filesystem::path Handover() {
  auto handover = runicorn::testing::SharedServerHandover("rgw");
  REQUIRE(handover.has_value());  // set by ctest's fixture: RUNICORN_TEST_SERVERS
  return *handover;
}

}  // namespace

TEST_CASE("start the shared Ceph RGW", "[.shared_rgw_start]") {
  const auto handover = Handover();
  RgwTestServer::StopHandedOver(handover);  // one an interrupted run left behind
  RgwTestServer server;
  const bool handed_over = server.HandOver(handover);
  if (!handed_over) {
    const char* require = std::getenv("RUNICORN_REQUIRE_S3");
    if (require != nullptr && std::string(require) == "1") FAIL(server.unavailable_reason());
    WARN("the s3 cases will skip: " << server.unavailable_reason());
    return;
  }
  INFO("endpoint " << server.endpoint() << ", folder " << server.dir());
  CHECK(runicorn::testing::ReadHandover(handover) ==
        std::vector<std::string>{server.dir().string(), server.endpoint().substr(sizeof("http://127.0.0.1:") - 1)});
}

TEST_CASE("stop the shared Ceph RGW", "[.shared_rgw_stop]") {
  const auto handover = Handover();
  const auto lines = runicorn::testing::ReadHandover(handover);
  RgwTestServer::StopHandedOver(handover);
  CHECK_FALSE(std::filesystem::exists(handover));
  if (!lines.empty()) CHECK_FALSE(std::filesystem::exists(lines.front()));
}
