// Helpers for the PostgreSQL back end's tests: a fresh catalog per test case, synthetic runs, and
// a one-line rendering of a RunSummary so two back ends' pages compare field by field.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "pg/pg_test_server.h"
#include "runtrack/catalog.h"
#include "service/pg/pg_run_catalog.h"

namespace runicorn::testing {

inline std::unique_ptr<service::pg::PgRunCatalog> OpenPgCatalog(const std::string& conninfo) {
  REQUIRE_FALSE(conninfo.empty());  // NewDatabase() failed: see createdb.log in the server's folder
  auto catalog = service::pg::PgRunCatalog::Open(conninfo);
  INFO(catalog.status().ToString());
  REQUIRE(catalog.ok());
  return std::move(catalog).value();
}

// A valid run id numbered `i` (ids sort in numbering order).
inline std::string PgRunId(int i) { return fmt::format("20250101_{:06d}_{:06x}", i % 1000000, i); }

inline runtrack::RunSummary SyntheticRun(int i, std::string project = "p", std::string name = "n") {
  runtrack::RunSummary r;
  r.id = PgRunId(i);
  r.project = std::move(project);
  r.name = std::move(name);
  r.status = runtrack::RunStatus::kFinished;
  r.created_at = 1700000000.0 + i;
  r.updated_at = r.created_at + 0.5;
  r.ended_at = r.created_at + 1;
  r.pid = 1000 + i;
  r.hostname = "host";
  return r;
}

inline std::string Render(const runtrack::RunSummary& r) {
  auto opt = [](const auto& v) { return v ? fmt::format("{}", *v) : std::string("-"); };
  return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|[{}]|{}|{}|{}|{}|{}|{}", r.id, r.project, r.name,
                     runtrack::RunStatusName(r.status), r.exit_reason, r.created_at, r.updated_at, opt(r.ended_at),
                     opt(r.deleted_at), r.pid, r.hostname, fmt::join(r.tags, ","), r.best_metric_name,
                     r.best_metric_mode, opt(r.best_metric_value), opt(r.best_metric_step), r.artifacts_created_count,
                     r.artifacts_used_count);
}

inline std::vector<std::string> Ids(const runtrack::RunPage& page) {
  std::vector<std::string> out;
  for (const auto& r : page.runs) out.push_back(r.id);
  return out;
}

}  // namespace runicorn::testing
