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
    {4, "segments: the sealed series index",
     R"sql(
-- One row per sealed series of a run (docs/SCALE-OUT.md "Segment index in PostgreSQL"): which
-- bucket objects hold it, so any replica charts a run it never indexed. series is the sealing
-- catalog's u32 series id (stream ordinal * 2^20 + the journal's metric id); stream is that
-- ordinal (0 = rank 0). The keys are what the publisher PUT; readers derive the key from the other
-- columns and refuse a row whose stored key differs (a key read back is never used as is). A
-- series sealed again (new count or footer CRC: new object names) replaces its row; a run's rows
-- are replaced in one transaction, so a reader sees one sealing of the run or the next.
CREATE TABLE segments (
  run_id text COLLATE "C" NOT NULL,
  series bigint NOT NULL CHECK (series >= 0 AND series <= 4294967295),
  metric text COLLATE "C" NOT NULL,
  stream integer NOT NULL CHECK (stream >= 0),
  segment_key text NOT NULL,
  lod_key text,
  point_count bigint NOT NULL CHECK (point_count > 0),
  first_step bigint NOT NULL,
  last_step bigint NOT NULL,
  footer_crc32c bigint NOT NULL CHECK (footer_crc32c >= 0 AND footer_crc32c <= 4294967295),
  segment_size bigint NOT NULL CHECK (segment_size > 0),
  lod_size bigint NOT NULL CHECK (lod_size >= 0),
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, series),
  CHECK ((lod_key IS NULL) = (lod_size = 0))
);
)sql"},
    {5, "replicas: viewers sharing the catalog",
     R"sql(
-- One row per running viewer replica (docs/SCALE-OUT.md "Replicas"): the address other replicas
-- forward ingest to, and the backend pid of the connection holding its run-ownership advisory
-- locks, which is how pg_locks names the owner of a run. Rows of dead replicas are harmless (no
-- lock has their pid) and are pruned by the next replica to start.
CREATE TABLE replicas (
  replica_id text COLLATE "C" PRIMARY KEY,
  url text NOT NULL DEFAULT '',
  backend_pid integer NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX replicas_backend_pid ON replicas (backend_pid);
)sql"},
    {6, "users, token key and task queue",
     R"sql(
-- The training service API's accounts (service/pg/pg_user_repository.h), as users.json holds them:
-- PBKDF2-HMAC-SHA256 salt and hash in hex, never a password. Removing a row refuses the user's
-- tokens on every replica at their next request (a token carries the row's random id).
CREATE TABLE api_users (
  name text COLLATE "C" PRIMARY KEY,
  id text COLLATE "C" NOT NULL UNIQUE CHECK (id ~ '^[0-9a-f]{32}$'),
  salt text NOT NULL CHECK (salt ~ '^[0-9a-f]+$'),
  hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  iterations integer NOT NULL CHECK (iterations > 0),
  created_at text NOT NULL
);
-- The key signing the API's tokens, written once by the first replica (INSERT ... ON CONFLICT DO
-- NOTHING, then read back: racing first starts agree on one key). Readable by whoever can read
-- this database: see docs/SCALE-OUT.md "Users, tokens and tasks on PostgreSQL".
CREATE TABLE api_token_keys (
  name text PRIMARY KEY,
  secret text NOT NULL CHECK (secret ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The shared task queue (service/pg/pg_task_queue.h). id is the submission order (FIFO among equal
-- ranks); task_order the manual order (NULL: after every ordered task), as the local runner ranks.
-- claim_key is the presence lock (pg_advisory_lock(class, claim_key)) of the claiming replica's
-- session: a claimed or running row whose lock nobody holds belongs to a dead replica.
CREATE TABLE task_queue (
  id bigserial PRIMARY KEY,
  workspace text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  spec jsonb NOT NULL DEFAULT '{}',
  task_order bigint,
  state text NOT NULL CHECK (state IN ('queued', 'claimed', 'running', 'completed', 'failed', 'cancelled', 'lost')),
  submitted_by text NOT NULL DEFAULT '',
  submitted_at double precision NOT NULL,
  claimed_by text,
  claim_key integer,
  claimed_at double precision,
  started_at double precision,
  finished_at double precision,
  exit_code integer,
  attempts integer NOT NULL DEFAULT 0,
  reason text NOT NULL DEFAULT '',
  cancel_requested boolean NOT NULL DEFAULT false,
  CHECK ((state IN ('claimed', 'running')) = (claim_key IS NOT NULL))
);
-- One live entry per task: a task is queued, claimed or running at most once.
CREATE UNIQUE INDEX task_queue_live ON task_queue (workspace, name) WHERE state IN ('queued', 'claimed', 'running');
-- The claim's scan: the next runnable task in rank order.
CREATE INDEX task_queue_runnable ON task_queue (workspace, (task_order IS NULL), task_order, id) WHERE state = 'queued';
CREATE INDEX task_queue_claimed ON task_queue (claim_key) WHERE state IN ('claimed', 'running');
CREATE INDEX task_queue_name ON task_queue (workspace, name, id);
)sql"},
    {7, "run_file_sets, run_files: published run logs and run files",
     R"sql(
-- A finished run's text log and run-folder files, published to the bucket by the replica that held
-- it (docs/SCALE-OUT.md "Run logs and run files in the bucket"), so any replica serves them. One
-- set row per published run (the log's object and the folder's file count as the publisher's
-- store counted it) and one row per file; a run's rows are replaced in one transaction. Keys are
-- run-scoped and content-addressed (<prefix>/runfiles/<run_id>/<sha256>): readers derive the key
-- again and refuse a row whose stored key differs. Paths are relative to the run folder; the
-- CHECK refuses absolute paths and "." / ".." components, which the writer refuses first.
CREATE TABLE run_file_sets (
  run_id text COLLATE "C" PRIMARY KEY,
  folder_files bigint NOT NULL CHECK (folder_files >= 0),
  log_size bigint NOT NULL CHECK (log_size >= 0),
  log_key text NOT NULL,
  log_sha256 text NOT NULL CHECK (log_sha256 = '' OR log_sha256 ~ '^[0-9a-f]{64}$'),
  published_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((log_size = 0) = (log_key = '') AND (log_key = '') = (log_sha256 = ''))
);
CREATE TABLE run_files (
  run_id text COLLATE "C" NOT NULL REFERENCES run_file_sets (run_id) ON DELETE CASCADE,
  path text COLLATE "C" NOT NULL CHECK (length(path) BETWEEN 1 AND 1024 AND path !~ '^/'
                                        AND path !~ '(^|/)\.{1,2}(/|$)' AND path !~ '//' AND path !~ '/$'),
  object_key text NOT NULL,
  size bigint NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, path)
);
)sql"},
    {8, "training_jobs: training jobs as their replicas publish them",
     R"sql(
-- Training jobs of /api/v1/train as the replica that runs each publishes it (service/pg/
-- pg_training_jobs.h, docs/SCALE-OUT.md "Training on the team back end"): job.json's facts and the
-- latest status, so any replica answers status and lists. owner_key is the presence lock
-- (pg_advisory_lock(class, owner_key)) of the owner's session: a queued or running job whose lock
-- nobody holds belongs to a replica that is gone. cancel_requested: a cancel received by another
-- replica, carried out by the owner.
CREATE TABLE training_jobs (
  task_id text COLLATE "C" PRIMARY KEY
    CHECK (task_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'),
  replica_id text NOT NULL,
  owner_key integer NOT NULL CHECK (owner_key > 0),
  facts jsonb NOT NULL CHECK (jsonb_typeof(facts) = 'object'),
  status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
  progress double precision NOT NULL DEFAULT 0,
  metrics jsonb NOT NULL DEFAULT '{}',
  model_id text,
  error text NOT NULL DEFAULT '',
  run_id text NOT NULL,
  created_at double precision NOT NULL,
  started_at double precision,
  updated_at double precision NOT NULL,
  cancel_requested boolean NOT NULL DEFAULT false
);
CREATE INDEX training_jobs_created ON training_jobs (created_at DESC, task_id);
CREATE INDEX training_jobs_owner ON training_jobs (replica_id) WHERE cancel_requested;
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
