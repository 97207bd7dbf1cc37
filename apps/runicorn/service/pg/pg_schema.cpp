#include "service/pg/pg_schema.h"

#include <charconv>
#include <iterator>

#include <fmt/format.h>

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;  // constant text: no values are ever spliced in
};

// Never edit an applied migration: add a new one. Text columns that are compared or sorted use
// COLLATE "C" so order and lower() are bytewise/ASCII, exactly as the embedded catalog's
// std::string comparisons and ASCII tolower (identical pages from both back ends).
constexpr Migration kMigrations[] = {
    {1, "runs",
     R"sql(
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE runs (
  id text COLLATE "C" PRIMARY KEY,
  project text COLLATE "C" NOT NULL DEFAULT '',
  name text COLLATE "C" NOT NULL DEFAULT '',
  status text COLLATE "C" NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
  exit_reason text NOT NULL DEFAULT '',
  created_at double precision NOT NULL,
  updated_at double precision NOT NULL,
  ended_at double precision,
  deleted_at double precision,
  pid bigint NOT NULL DEFAULT 0,
  hostname text NOT NULL DEFAULT '',
  tags text[] COLLATE "C" NOT NULL DEFAULT '{}',
  config jsonb NOT NULL DEFAULT '{}',
  summary jsonb NOT NULL DEFAULT '{}',
  best_metric_name text NOT NULL DEFAULT '',
  best_metric_mode text NOT NULL DEFAULT '',
  best_metric_value double precision,
  best_metric_step bigint,
  artifacts_created_count integer NOT NULL DEFAULT 0,
  artifacts_used_count integer NOT NULL DEFAULT 0,
  -- lower-cased "id\nproject\nname\ntag..." (what free-text search looks in), written by the
  -- client because array_to_string is not immutable enough for an index expression.
  search_text text COLLATE "C" NOT NULL DEFAULT ''
);
-- Sorts (ties broken by id): the planner adds an incremental sort on id over these.
CREATE INDEX runs_created_at ON runs (created_at);
-- The default listing (live runs, newest first) and its total: an index-only count.
CREATE INDEX runs_live_created_at ON runs (created_at) WHERE deleted_at IS NULL;
CREATE INDEX runs_updated_at ON runs (updated_at);
CREATE INDEX runs_best_asc ON runs (best_metric_value ASC NULLS LAST);
CREATE INDEX runs_best_desc ON runs (best_metric_value DESC NULLS LAST);
CREATE INDEX runs_status ON runs (status, created_at);
-- The common filter (one project), sorted by creation time.
CREATE INDEX runs_project_created_at ON runs (project, created_at);
-- One project by best value: without it the planner walks runs_best_desc over all projects
-- (measured: 37,626 rows filtered out for a page of 50 at 10^6 runs).
CREATE INDEX runs_project_best_desc ON runs (project, best_metric_value DESC NULLS LAST);
CREATE INDEX runs_name ON runs (name);
CREATE INDEX runs_tags ON runs USING gin (tags);
CREATE INDEX runs_search ON runs USING gin (search_text gin_trgm_ops);
CREATE INDEX runs_deleted ON runs (deleted_at) WHERE deleted_at IS NOT NULL;
)sql"},
};

// Any constant; every runicorn process migrating a database takes the same one.
constexpr int64_t kMigrationLockKey = 0x72756e69636f726e;  // "runicorn"

}  // namespace

int LatestSchemaVersion() { return std::end(kMigrations)[-1].version; }

Result<int> MigrateSchema(PgConnection& conn) {
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(conn));
  RUNTRACK_RETURN_IF_ERROR(conn.Exec("SELECT pg_advisory_xact_lock($1)", {std::to_string(kMigrationLockKey)}).status());
  RUNTRACK_RETURN_IF_ERROR(conn.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version integer PRIMARY KEY, description text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())"));
  RUNTRACK_ASSIGN_OR_RETURN(PgResult found, conn.Exec("SELECT coalesce(max(version), 0) FROM schema_migrations"));
  int current = 0;
  std::string_view text = found.Get(0, 0);
  std::from_chars(text.data(), text.data() + text.size(), current);
  if (current > LatestSchemaVersion())
    return Status::FailedPrecondition(fmt::format(
        "the PostgreSQL catalog has schema version {}, newer than this runicorn knows ({}); upgrade runicorn",
        current, LatestSchemaVersion()));
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    Status applied = conn.ExecScript(m.sql);
    if (!applied.ok())
      return Status(applied.code(), fmt::format("schema migration {} ({}): {}", m.version, m.description,
                                                applied.message()));
    RUNTRACK_RETURN_IF_ERROR(conn.Exec("INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                                       {std::to_string(m.version), std::string(m.description)})
                                 .status());
  }
  RUNTRACK_RETURN_IF_ERROR(tx.Commit());
  return current;
}

}  // namespace runicorn::service::pg
