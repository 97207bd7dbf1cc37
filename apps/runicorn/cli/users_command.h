// `runicorn users add|remove|list`: the accounts of the training service API (/api/v1).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtrack/status.h"
#include "service/user_repository.h"

namespace runicorn::cli {

// Opens the users of a `--catalog` (PostgreSQL; docs/SCALE-OUT.md "Users, tokens and tasks on
// PostgreSQL"). Given by the composition root, which links the PostgreSQL back end; the CLI does not.
using CatalogUsersOpener =
    std::function<runtrack::Result<std::unique_ptr<service::UserRepository>>(const std::string& conninfo)>;

// Without an opener, `--catalog` is refused (exit 2: built without libpq).
int RunUsers(const std::vector<std::string>& argv, const CatalogUsersOpener& open_catalog = {});

}  // namespace runicorn::cli
