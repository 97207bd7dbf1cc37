// `runicorn migrate --to postgresql://… --objects s3://…`: copies an embedded store into the team
// back end (docs/SCALE-OUT.md "Migrating a store"). It lives beside the viewer because, like the
// viewer, it composes every back end (embedded store, PostgreSQL, the bucket).
#pragma once

#include <string>
#include <vector>

namespace runicorn::viewer {

int RunMigrate(const std::vector<std::string>& argv);

}  // namespace runicorn::viewer
