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
    {2, "artifact versions, aliases and lineage",
     R"sql(
-- One row per artifact name: its type (a name belongs to one type) and the highest version
-- number ever claimed. Claiming bumps last_version under the row's lock, so two writers never get
-- one number and a number is never handed out again (pending and purged versions keep theirs).
CREATE TABLE artifact_names (
  name text COLLATE "C" PRIMARY KEY,
  type text COLLATE "C" NOT NULL CHECK (type IN ('model', 'dataset', 'config', 'code', 'custom')),
  last_version integer NOT NULL DEFAULT 0 CHECK (last_version >= 0)
);
CREATE INDEX artifact_names_type ON artifact_names (type, name);
-- One row per claimed number. state: pending (claimed, not published), ready, deleted (soft,
-- restorable), purged (permanently deleted: manifest, files and chunks gone, number kept).
-- manifest is the manifest.json text, byte for byte (its manifest_digest covers those bytes, so
-- handles verify what PostgreSQL returns); metadata is json, not jsonb, so key order and number
-- spelling stay as logged.
CREATE TABLE artifact_versions (
  name text COLLATE "C" NOT NULL REFERENCES artifact_names (name),
  version integer NOT NULL CHECK (version > 0),
  state text NOT NULL CHECK (state IN ('pending', 'ready', 'deleted', 'purged')),
  created_at double precision NOT NULL DEFAULT 0,
  created_by_run text COLLATE "C" NOT NULL DEFAULT '',
  size_bytes bigint NOT NULL DEFAULT 0,
  num_files bigint NOT NULL DEFAULT 0,
  num_references bigint NOT NULL DEFAULT 0,
  description text NOT NULL DEFAULT '',
  metadata json NOT NULL DEFAULT '{}',
  tags text[] NOT NULL DEFAULT '{}',
  refs jsonb NOT NULL DEFAULT '[]',
  manifest_digest text NOT NULL DEFAULT '',
  manifest text,
  deleted_at double precision,
  PRIMARY KEY (name, version),
  CHECK ((manifest IS NOT NULL) = (state IN ('ready', 'deleted')))
);
-- Lineage downstream of a run (what it produced) and the listing of live versions.
CREATE INDEX artifact_versions_producer ON artifact_versions (created_by_run) WHERE created_by_run <> '';
CREATE INDEX artifact_versions_live ON artifact_versions (name, version) WHERE state IN ('ready', 'deleted');
-- A version's files in manifest order (ListFiles) and its distinct chunks (Stats, and the
-- reference set an object-store collector must keep). Both go with a permanent delete.
CREATE TABLE artifact_files (
  name text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  ordinal integer NOT NULL,
  path text NOT NULL,
  size bigint NOT NULL,
  digest text NOT NULL,
  num_chunks bigint NOT NULL,
  PRIMARY KEY (name, version, ordinal),
  FOREIGN KEY (name, version) REFERENCES artifact_versions (name, version) ON DELETE CASCADE
);
CREATE TABLE artifact_chunks (
  name text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  sha256 text COLLATE "C" NOT NULL,
  size bigint NOT NULL,
  PRIMARY KEY (name, version, sha256),
  FOREIGN KEY (name, version) REFERENCES artifact_versions (name, version) ON DELETE CASCADE
);
CREATE INDEX artifact_chunks_sha256 ON artifact_chunks (sha256);
-- User aliases ("latest" is computed: the newest ready version). One row per (name, alias): a
-- move is one UPDATE of that row.
CREATE TABLE artifact_aliases (
  name text COLLATE "C" NOT NULL,
  alias text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (name, alias),
  FOREIGN KEY (name, version) REFERENCES artifact_versions (name, version)
);
CREATE INDEX artifact_aliases_version ON artifact_aliases (name, version);
-- Lineage "uses" edges: run used version. ("produces" is artifact_versions.created_by_run.)
CREATE TABLE artifact_uses (
  name text COLLATE "C" NOT NULL,
  version integer NOT NULL,
  run_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (name, version, run_id),
  FOREIGN KEY (name, version) REFERENCES artifact_versions (name, version)
);
CREATE INDEX artifact_uses_run ON artifact_uses (run_id);
)sql"},
    {3, "runs: v0.6 path and alias",
     R"sql(
-- Runicorn v0.6's run path (NULL for a run logged without one: readers fall back to
-- project/name) and alias, so listings from PostgreSQL carry them as the embedded catalog does.
ALTER TABLE runs ADD COLUMN path text, ADD COLUMN alias text NOT NULL DEFAULT '';
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
