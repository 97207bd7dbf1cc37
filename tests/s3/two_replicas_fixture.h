// Two (or more) real `runicorn viewer --catalog … --objects …` replicas on one PostgreSQL 15 database
// and one Ceph RGW bucket, as the run-file tests use them (run_files_test.cpp,
// run_folder_export_test.cpp): the back end, a replica process, and the small HTTP / SQL / stream
// helpers those tests share (the HTTP and byte helpers come from team_fixture.h). Header-only;
// needs RUNICORN_HAVE_PG.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "pg/pg_test_server.h"
#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "service/pg/pg_connection.h"
#include "service/run_file_source.h"
#include "service/s3/s3_client.h"
#include "team_fixture.h"

namespace runicorn::testing::two_replicas {

using testing::RandomBytes;

// GET http://127.0.0.1:<port><path>: the status and the body.
inline std::pair<long, std::string> Get(int port, const std::string& path) {
  HttpReply reply = HttpGet(fmt::format("http://127.0.0.1:{}{}", port, path));
  return {reply.status, std::move(reply.body)};
}

// The single value a one-parameter query answers; "" when it answers no row, several, or fails.
inline std::string One(const std::string& conninfo, const std::string& sql, const std::string& param) {
  auto conn = service::pg::PgConnection::Connect(conninfo);
  if (!conn.ok()) return "";
  auto rows = (*conn)->Exec(sql, {param});
  if (!rows.ok() || rows->rows() != 1) return "";
  return std::string(rows->Get(0, 0));
}

// Polls `ready` every 100 ms for at most 90 s.
template <typename Ready>
bool WaitFor(const Ready& ready) {
  for (int i = 0; i < 900; ++i) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Everything a RunFileStream yields; the first error goes to `status`.
inline std::string ReadAll(service::RunFileStream& stream, runtrack::Status* status) {
  std::string out;
  char buf[70000];
  for (;;) {
    auto n = stream.Read(buf, sizeof buf);
    if (!n.ok()) {
      *status = n.status();
      return out;
    }
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

// The shared back end: a fresh database on the program's PostgreSQL 15 and a fresh bucket (prefix
// "team") on the program's Ceph RGW, with what a replica process needs to reach them.
struct TeamBackEnd {
  std::string conninfo;
  service::s3::S3Location loc;
  std::shared_ptr<service::s3::S3Client> bucket;
  std::string objects;                       // the --objects value
  std::map<std::string, std::string> env;    // the replica's credentials and HOME

  // False (after WARN) when PostgreSQL 15 is missing and RUNICORN_REQUIRE_PG is not 1: the test
  // case returns. A missing engine that is required fails the test case.
  bool Start(RgwTestServer& rgw, const std::string& bucket_tag, const std::filesystem::path& home) {
    PgTestServer& pg = PgTestServer::Shared();
    if (!pg.available()) {
      const char* require = std::getenv("RUNICORN_REQUIRE_PG");
      if (require != nullptr && std::string(require) == "1") FAIL(pg.unavailable_reason());
      WARN("SKIPPED: " << pg.unavailable_reason());
      return false;
    }
    conninfo = pg.NewDatabase();
    REQUIRE_FALSE(conninfo.empty());
    loc.bucket = fmt::format("rt-{}-{}", bucket_tag, ::getpid());
    loc.prefix = "team";
    loc.endpoint = rgw.endpoint();
    bucket = std::make_shared<service::s3::S3Client>(
        loc, service::s3::S3Credentials{RgwTestServer::kAccessKey, RgwTestServer::kSecretKey, ""});
    REQUIRE(bucket->CreateBucket().ok());
    objects = fmt::format("s3://{}/team?endpoint={}", loc.bucket, rgw.endpoint());
    env = {{"AWS_ACCESS_KEY_ID", RgwTestServer::kAccessKey},
           {"AWS_SECRET_ACCESS_KEY", RgwTestServer::kSecretKey},
           {"HOME", home.string()}};
    return true;
  }
};

// One real `runicorn viewer --storage <root> --catalog … --objects …` on an ephemeral port; its
// stdout/stderr go to `out_dir`. `extra_env` adds to (or overrides) the back end's environment.
struct Replica {
  std::unique_ptr<RunicornProcess> process;
  int port = 0;
  Replica(const std::filesystem::path& root, const TeamBackEnd& team, const std::filesystem::path& out_dir,
          const std::map<std::string, std::string>& extra_env = {}) {
    std::filesystem::create_directories(out_dir);
    std::map<std::string, std::string> env = team.env;
    for (const auto& [k, v] : extra_env) env[k] = v;
    process = std::make_unique<RunicornProcess>(
        "viewer",
        std::vector<std::string>{"--storage", root.string(), "--port", "0", "--catalog", team.conninfo, "--objects",
                                 team.objects},
        env, out_dir);
    port = process->WaitForPort();
    INFO("stdout: " << process->out() << "\nstderr: " << process->err());
    REQUIRE(port > 0);
  }
};

}  // namespace runicorn::testing::two_replicas
