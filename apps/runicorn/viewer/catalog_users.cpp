#include "viewer/catalog_users.h"

#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_user_repository.h"
#include "service/pg/pg_viewer_catalog.h"
#endif

namespace runicorn::viewer {

cli::CatalogUsersOpener CatalogUsersOpener() {
#ifdef RUNICORN_HAVE_PG
  return [](const std::string& conninfo) -> runtrack::Result<std::unique_ptr<service::UserRepository>> {
    RUNTRACK_RETURN_IF_ERROR(service::pg::CheckCatalogConninfo(conninfo));
    RUNTRACK_ASSIGN_OR_RETURN(auto users, service::pg::PgUserRepository::Open(conninfo));
    return std::unique_ptr<service::UserRepository>(std::move(users));
  };
#else
  return {};
#endif
}

}  // namespace runicorn::viewer
