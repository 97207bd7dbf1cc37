#include "viewer/migrate_common.h"

#ifdef RUNICORN_HAVE_PG
#include <cstdio>

#include "cli/cli.h"
#include "service/pg/pg_viewer_catalog.h"
#include "service/s3/objects_option.h"

namespace runicorn::viewer {

int MigrateFail(std::string_view step, const runtrack::Status& status) {
  std::fprintf(stderr, "runicorn migrate: %.*s: %s\n", static_cast<int>(step.size()), step.data(),
               status.ToString().c_str());
  return cli::ExitCodeFor(status);
}

std::unique_ptr<TeamBackEndUrls> OpenTeamBackEnd(const std::string& conninfo, std::string_view flag,
                                                 const std::string& objects_url, int* exit_code) {
  if (auto s = service::pg::CheckCatalogConninfo(conninfo); !s.ok()) {
    std::fprintf(stderr, "runicorn migrate: %.*s: %s\n", static_cast<int>(flag.size()), flag.data(),
                 s.message().c_str());
    *exit_code = cli::kExitUsage;
    return nullptr;
  }
  auto bucket = service::s3::OpenObjectChunkStore(objects_url);
  if (!bucket.ok()) {
    std::fprintf(stderr, "runicorn migrate: %s\n", bucket.status().message().c_str());
    *exit_code = bucket.status().code() == runtrack::StatusCode::kInvalidArgument ? cli::kExitUsage : cli::kExitError;
    return nullptr;
  }
  return std::make_unique<TeamBackEndUrls>(TeamBackEndUrls{conninfo, std::move(*bucket)});
}

}  // namespace runicorn::viewer
#endif  // RUNICORN_HAVE_PG
