#include "server/app_context.h"

#include <chrono>
#include <cstdlib>

#include "runtrack/store.h"

#ifndef RUNICORN_VERSION
#define RUNICORN_VERSION "0.1.0"
#endif

namespace runicorn::server {

std::string RunicornVersion() { return RUNICORN_VERSION; }

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

std::filesystem::path DefaultConfigFile() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0')
    return std::filesystem::path(xdg) / "runicorn" / "config.json";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::filesystem::path(home) / ".config" / "runicorn" / "config.json";
  return std::filesystem::path(".runicorn-config.json");
}

}  // namespace

runtrack::Result<std::unique_ptr<AppContext>> AppContext::Open(const std::filesystem::path& root) {
  RUNTRACK_ASSIGN_OR_RETURN(auto store, runtrack::Store::Open(root));
  auto ctx = std::make_unique<AppContext>();
  std::error_code ec;
  ctx->root = std::filesystem::absolute(store->root(), ec);
  if (ec) ctx->root = store->root();
  ctx->root = ctx->root.lexically_normal();
  ctx->config_file = DefaultConfigFile();
  ctx->version = RunicornVersion();
  ctx->started_at = NowSeconds();
  RUNTRACK_ASSIGN_OR_RETURN(ctx->catalog, runtrack::Catalog::Open(ctx->root));
  RUNTRACK_ASSIGN_OR_RETURN(auto artifacts, runtrack::ArtifactStore::Open(ctx->root));
  ctx->artifacts = std::make_unique<runtrack::ArtifactStore>(std::move(artifacts));
  return ctx;
}

}  // namespace runicorn::server
