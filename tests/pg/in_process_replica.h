// A viewer replica in process, for the replica tests on one private PostgreSQL: a TestServer with
// run ownership (PgRunOwnership on the database) and ingest forwarding, and, when asked, the run
// index from PostgreSQL and read forwarding as `viewer --catalog … --replica-url …` wires them.
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "runtrack/layout.h"
#include "server/ingest_forwarding.h"
#include "server/read_forwarding.h"
#include "server_fixture.h"
#include "service/pg/pg_run_ownership.h"

namespace runicorn::testing {

struct Replica {
  std::unique_ptr<TestServer> server;
  std::shared_ptr<service::pg::PgRunOwnership> ownership;
  std::shared_ptr<server::IngestForwarding> forwarding;
  std::shared_ptr<server::ReadForwarding> reads;  // with read forwarding only
  std::string url;
  std::string name;
  std::filesystem::path journal(const std::string& run) const {
    return runtrack::StoreLayout(server->store().root()).journal_path(run);
  }
};

// `reads` set: the run index comes from PostgreSQL and reads of live runs are forwarded to their
// owner (live streams follow it), as with `viewer --catalog`.
inline Replica StartInProcessReplica(const std::string& db, const std::string& name, const std::string& token = {},
                                     std::optional<server::ReadForwardingOptions> reads = std::nullopt) {
  ServerConfig config;
  config.token = token;
  config.body_limit = 8u << 20;
  if (reads) config.pg_catalog = db;
  Replica r;
  r.server = std::make_unique<TestServer>(config);
  r.url = fmt::format("http://127.0.0.1:{}", r.server->port());
  auto ownership = service::pg::PgRunOwnership::Open({db, r.url, name});
  INFO(ownership.status().ToString());
  REQUIRE(ownership.ok());
  r.ownership = std::move(*ownership);
  r.name = name;
  // Before any request reaches it.
  r.forwarding = std::make_shared<server::IngestForwarding>(r.ownership, server::IngestForwardingOptions{});
  r.server->ctx().ingest_forwarding = r.forwarding;
  if (reads) {
    r.reads = std::make_shared<server::ReadForwarding>(r.ownership, *reads);
    r.reads->AttachLocalStreams(&r.server->ctx());
    r.server->ctx().read_forwarding = r.reads;
  }
  return r;
}

}  // namespace runicorn::testing
