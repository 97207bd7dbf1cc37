// What both directions of `runicorn migrate` share (migrate_command.cpp: --to,
// migrate_from_command.cpp: --from): opening the team back end's two URLs before anything is
// written, and the one way a failed step is reported.
#pragma once

#ifdef RUNICORN_HAVE_PG
#include <memory>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/s3/object_chunk_store.h"

namespace runicorn::viewer {

// Prints "runicorn migrate: <step>: <status>" and returns the exit code for `status`.
int MigrateFail(std::string_view step, const runtrack::Status& status);

struct TeamBackEndUrls {
  std::string conninfo;                                    // checked: no password in it
  std::shared_ptr<service::s3::ObjectChunkStore> bucket;  // opened: it answered
};

// Checks `conninfo` (named `flag` in messages: "--to" or "--from") and opens the bucket of
// `objects_url`. On failure prints why and sets `*exit_code` (usage errors: kExitUsage).
std::unique_ptr<TeamBackEndUrls> OpenTeamBackEnd(const std::string& conninfo, std::string_view flag,
                                                 const std::string& objects_url, int* exit_code);

}  // namespace runicorn::viewer
#endif  // RUNICORN_HAVE_PG
