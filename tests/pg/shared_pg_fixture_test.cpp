// ctest's fixture for the run's shared PostgreSQL (tests/shared_test_servers.h, tests/CMakeLists.txt):
// hidden cases (tag "[.…]"), run only by name, never by a plain run of this program.
#include <catch2/catch.hpp>

#include "pg_test_server.h"

using runicorn::testing::PgTestServer;

namespace {

std::filesystem::path Handover() {
  auto handover = runicorn::testing::SharedServerHandover("postgresql");
  REQUIRE(handover.has_value());  // set by ctest's fixture: RUNICORN_TEST_SERVERS
  return *handover;
}

}  // namespace

TEST_CASE("start the shared PostgreSQL", "[.shared_pg_start]") {
  const auto handover = Handover();
  PgTestServer::StopHandedOver(handover);  // one an interrupted run left behind
  // Two cases at a time share it, and one case may hold dozens of sessions (replicas, pools).
  PgTestServer server("-c max_connections=400");
  if (!server.HandOver(handover)) {
    const char* require = std::getenv("RUNICORN_REQUIRE_PG");
    if (require != nullptr && std::string(require) == "1") FAIL(server.unavailable_reason());
    WARN("the PostgreSQL cases will skip: " << server.unavailable_reason());
    return;
  }
  CHECK(runicorn::testing::ReadHandover(handover) == std::vector<std::string>{server.dir().string()});
  CHECK_FALSE(server.NewDatabase().empty());
}

TEST_CASE("stop the shared PostgreSQL", "[.shared_pg_stop]") {
  const auto handover = Handover();
  const auto lines = runicorn::testing::ReadHandover(handover);
  PgTestServer::StopHandedOver(handover);
  CHECK_FALSE(std::filesystem::exists(handover));
  if (!lines.empty()) CHECK_FALSE(std::filesystem::exists(lines.front()));
}
