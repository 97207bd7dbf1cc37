// `runicorn users --catalog postgresql://…`: the PostgreSQL users (service/pg/pg_user_repository.h)
// for the CLI's users command, which does not link the PostgreSQL back end itself.
#pragma once

#include "cli/users_command.h"

namespace runicorn::viewer {

// Checks the conninfo as `viewer --catalog` does (no password in it), then opens the users. Empty
// when this runicorn was built without libpq.
cli::CatalogUsersOpener CatalogUsersOpener();

}  // namespace runicorn::viewer
