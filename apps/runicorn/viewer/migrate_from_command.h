// `runicorn migrate --from postgresql://… --objects s3://…`: copies a team back end (PostgreSQL
// catalog + bucket) back into an embedded store (docs/SCALE-OUT.md "Migrating a store").
#pragma once

#include "cli/cli.h"

namespace runicorn::viewer {

// `args` holds --from (and no --to); the usage text and exit codes are RunMigrate's.
int RunMigrateFrom(const cli::Args& args);

}  // namespace runicorn::viewer
