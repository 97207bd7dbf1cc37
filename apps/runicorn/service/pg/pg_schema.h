// The PostgreSQL catalog's schema: versioned migrations, applied in order at start.
//
// Each applied migration is a row of schema_migrations(version, description, applied_at). A start
// applies the missing ones in ONE transaction under an advisory lock, so replicas starting
// together neither race nor leave a half-applied schema. A database whose schema is newer than
// this binary knows is refused (FailedPrecondition): an old binary must not write into a layout
// it does not understand.
#pragma once

#include "runtrack/status.h"
#include "service/pg/pg_connection.h"

namespace runicorn::service::pg {

// The newest schema version this binary knows.
int LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(); returns the version found before (0 = empty).
runtrack::Result<int> MigrateSchema(PgConnection& conn);

}  // namespace runicorn::service::pg
