#include "server/app_context.h"

#include "service/embedded_maintenance.h"

namespace runicorn::server {

runtrack::Result<std::unique_ptr<AppContext>> AppContext::Open(const std::filesystem::path& root,
                                                               const std::filesystem::path& config_file,
                                                               std::shared_ptr<const runtrack::SealedObjectSource> sealed_objects) {
  auto ctx = std::make_unique<AppContext>();
  // A viewer started on a full disk serves the catalog read-only (degraded) instead of exiting;
  // its indexer re-opens it read-write once there is space (indexer.h).
  runtrack::CatalogOptions catalog_options;
  catalog_options.read_only_on_full_disk = true;
  catalog_options.sealed_objects = std::move(sealed_objects);
  RUNTRACK_ASSIGN_OR_RETURN(ctx->storage, service::EmbeddedStorage::Open(root, catalog_options));
  ctx->root = ctx->storage->root().lexically_normal();
  ctx->config_file = config_file;
  ctx->version = RunicornVersion();
  ctx->started_at = NowSeconds();
  service::EmbeddedStorage& s = *ctx->storage;
  ctx->services = std::make_unique<service::Services>(s, s, s.artifacts(), runtrack::StoreLayout(ctx->root),
                                                      service::ConfigService(ctx->config_file, ctx->root, ctx->version));
  // This process holds the catalog, so it can re-check run liveness and report the chart cache.
  ctx->services->maintenance = std::make_unique<service::EmbeddedMaintenance>(s);
  return ctx;
}

void AppContext::UseRunCatalog(std::unique_ptr<service::RunCatalog> catalog,
                               std::function<runtrack::Status(bool changed)> after_pass) {
  auto maintenance = std::move(services->maintenance);
  services.reset();  // refers to the previous run index
  run_catalog = std::move(catalog);
  after_index_pass = std::move(after_pass);
  services = std::make_unique<service::Services>(*run_catalog, metric_reader ? *metric_reader : *storage,
                                                 artifact_repository ? *artifact_repository : storage->artifacts(),
                                                 runtrack::StoreLayout(root),
                                                 service::ConfigService(config_file, root, version));
  services->maintenance = std::move(maintenance);
}

}  // namespace runicorn::server
