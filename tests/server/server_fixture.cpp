// The test viewer (server_fixture.h), compiled once for every test program that starts a viewer
// in-process; its clients are in http_test_clients.cpp.
#include "server_fixture.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include <catch2/catch.hpp>

#ifdef RUNICORN_HAVE_PG
#include "pg/pg_test_server.h"
#include "s3/rgw_test_server.h"
#include "service/s3/s3_client.h"
#endif

namespace runicorn::testing {

// RUNICORN_TEST_CATALOG=postgresql (or team) without PostgreSQL 15 (or Ceph RGW) installed: the
// whole program is skipped (it exits 0 before any case runs, saying why), unless
// RUNICORN_REQUIRE_PG=1 (RUNICORN_REQUIRE_S3=1) makes its cases fail. (This file is an OBJECT
// library's: its initializers run in every program that links it.)
static const bool kBackEndProgramSkip = [] {
  const char* catalog = std::getenv("RUNICORN_TEST_CATALOG");
  if (catalog == nullptr || (std::string(catalog) != "postgresql" && std::string(catalog) != "team")) return false;
  auto required = [](const char* var) {
    const char* v = std::getenv(var);
    return v != nullptr && std::string(v) == "1";
  };
  std::vector<std::pair<std::string, std::string>> tools;  // path, the packages that bring it
#ifdef RUNICORN_HAVE_PG
  if (!required("RUNICORN_REQUIRE_PG")) tools.emplace_back(fmt::format("{}/initdb", PgTestServer::kBinDir), "postgresql-15");
#endif
  if (std::string(catalog) == "team" && !required("RUNICORN_REQUIRE_S3"))
    tools.emplace_back("/usr/bin/radosgw", "ceph-mon ceph-osd radosgw ceph-common");
  for (const auto& [tool, packages] : tools) {
    if (::access(tool.c_str(), X_OK) == 0) continue;
    std::printf("SKIPPED: RUNICORN_TEST_CATALOG=%s: %s is missing (apt-get install %s)\n", catalog, tool.c_str(),
                packages.c_str());
    std::exit(0);
  }
  return false;
}();

TestServer::TestServer(ServerConfig config) {
  auto store = runtrack::Store::Open(dir_.path() / "store");
  REQUIRE(store.ok());
  store_ = std::move(*store);
  OpenContext(config.pg_catalog);
  indexer_ = std::make_unique<server::Indexer>(*ctx_, std::chrono::milliseconds(50));
  REQUIRE(indexer_->Start().ok());
  server::ApiOptions a;
  a.token = config.token;
  a.web_root = config.web_root;
  a.origin_policy = config.origin_policy;
  a.client_addresses = config.client_addresses;
  if (config.rate_limits) {
    a.rate_limits = *config.rate_limits;
  } else {
    a.rate_limits.enabled = false;
  }
  api_ = std::make_unique<server::Api>(*ctx_, a);
  server::ServerOptions s;
  s.port = 0;
  s.threads = config.threads;
  s.body_limit = config.body_limit;
  s.max_connections = config.max_connections;
  s.stream_poll = std::chrono::milliseconds(20);
  s.drain_timeout = std::chrono::seconds(2);
  auto srv = server::HttpServer::Start(*api_, s, !config.token.empty());
  REQUIRE(srv.ok());
  server_ = std::move(*srv);
}

TestServer::~TestServer() {
  server_->Shutdown();
  server_->Wait();
  server_.reset();
  indexer_->Stop();
}

uint16_t TestServer::port() const { return server_->port(); }

void TestServer::Sync() {
  REQUIRE(ctx_->storage->catalog().Refresh().ok());
  if (ctx_->after_index_pass) REQUIRE(ctx_->after_index_pass(true).ok());  // as the indexer's pass
  if (team_) {
    const runtrack::Status published = team_->PublishNow();
    INFO(published.ToString());
    REQUIRE(published.ok());
  }
  ctx_->index_generation.fetch_add(1);
}

namespace {

// RUNICORN_TEST_CATALOG: "postgresql", "team" or unset.
std::string TestCatalog() {
  const char* env = std::getenv("RUNICORN_TEST_CATALOG");
  return env == nullptr ? std::string() : std::string(env);
}

#ifdef RUNICORN_HAVE_PG
std::string FreshPgDatabase() {
  auto& pg = PgTestServer::Shared();
  INFO(pg.unavailable_reason());
  REQUIRE(pg.available());
  std::string conninfo = pg.NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  return conninfo;
}

// A bucket of its own on the run's RGW, as `--objects` names it. The credentials go where a replica
// reads them (the environment), as a team's deployment would set them.
std::string FreshBucketUrl() {
  auto& rgw = RgwTestServer::Shared();
  INFO(rgw.unavailable_reason());
  REQUIRE(rgw.available());
  static std::atomic<int> buckets{0};
  service::s3::S3Location loc;
  loc.bucket = fmt::format("api-suite-{}-{}", ::getpid(), buckets++);
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  // Once: setenv is not safe beside other threads' getenv (earlier servers' libcurl, say).
  static const bool credentials_set = [] {
    ::setenv("AWS_ACCESS_KEY_ID", RgwTestServer::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", RgwTestServer::kSecretKey, 1);
    return true;
  }();
  (void)credentials_set;
  service::s3::S3Client client(loc, service::s3::S3Credentials{RgwTestServer::kAccessKey, RgwTestServer::kSecretKey, ""});
  const runtrack::Status created = client.CreateBucket();
  INFO(created.ToString());
  REQUIRE(created.ok());
  return fmt::format("s3://{}/team?endpoint={}", loc.bucket, loc.endpoint);
}
#endif

}  // namespace

// The store's context, on the back end RUNICORN_TEST_CATALOG (or `pg_catalog`) asks for; as
// `runicorn viewer` wires it (viewer_command.cpp), with the team back end's publishers run by
// Sync() instead of in the background.
void TestServer::OpenContext(const std::string& pg_catalog) {
  const std::filesystem::path config = dir_.path() / "config" / "config.json";
  const std::string catalog = TestCatalog();
  if (pg_catalog.empty() && catalog != "postgresql" && catalog != "team") {
    auto ctx = server::AppContext::Open(store_->root(), config);
    REQUIRE(ctx.ok());
    ctx_ = std::move(*ctx);
    return;
  }
#ifdef RUNICORN_HAVE_PG
  viewer::TeamBackendOptions options;
  options.catalog = pg_catalog.empty() ? FreshPgDatabase() : pg_catalog;
  if (pg_catalog.empty() && catalog == "team") options.objects = FreshBucketUrl();
  options.start_background = false;
  auto team = viewer::TeamBackend::Open(std::move(options));
  INFO(team.status().ToString());
  REQUIRE(team.ok());
  auto ctx = server::AppContext::Open(store_->root(), config, (*team)->segment_source());
  REQUIRE(ctx.ok());
  ctx_ = std::move(*ctx);
  team_ = std::move(*team);
  const runtrack::Status attached = team_->Attach(*ctx_);
  INFO(attached.ToString());
  REQUIRE(attached.ok());
#else
  FAIL("a PostgreSQL run catalog was asked for, but this test program was built without libpq");
#endif
}

std::string MakeRun(runtrack::Store& store, const std::string& project, const std::string& name, int steps,
                    std::vector<std::string> tags, double acc_scale, runtrack::RunStatus end) {
  runtrack::RunOptions o;
  o.project = project;
  o.name = name;
  o.tags = std::move(tags);
  o.config = {{"lr", 0.01}};  // (a NaN here breaks the journal start record: a library bug, reported)
  auto run = store.CreateRun(o);
  REQUIRE(run.ok());
  REQUIRE((*run)->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax).ok());
  for (int s = 1; s <= steps; ++s) {
    REQUIRE((*run)->Log({{"loss", 1.0 / s}, {"accuracy", acc_scale * (1.0 - 1.0 / (s + 1))}}, s, "train").ok());
    if (s % 10 == 0) REQUIRE((*run)->Log({{"val_loss", 2.0 / s}}, s, "eval").ok());
  }
  REQUIRE((*run)->LogText("line one").ok());
  REQUIRE((*run)->LogText("line two").ok());
  std::string id = (*run)->id();
  REQUIRE((*run)->Finish(end).ok());
  return id;
}

}  // namespace runicorn::testing
