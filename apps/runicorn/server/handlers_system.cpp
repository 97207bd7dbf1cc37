// /api/health and /api/config.
#include <filesystem>
#include <fstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/artifacts.h"
#include "server/errors.h"
#include "server/handlers.h"
#include "server/params.h"

namespace runicorn::server {
namespace bj = boost::json;

runtrack::Status CheckRunIdParam(const std::string& id) {
  if (!runtrack::ValidateRunId(id).ok()) {
    std::string shown;
    for (char c : id.substr(0, 64)) shown.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
    return runtrack::Status::InvalidArgument(
        fmt::format("Invalid run_id format: {}. Expected format: YYYYMMDD_HHMMSS_XXXXXX", shown));
  }
  return runtrack::Status::Ok();
}

Response HandleHealth(const AppContext& ctx, const Request&) {
  // "ok", as Runicorn's server says (its client's "healthy" check is a known bug, DESIGN.md).
  return Response::Json(bj::object{{"status", "ok"},
                                   {"version", ctx.version},
                                   {"storage", ctx.root.string()},
                                   {"timestamp", NowSeconds()},
                                   {"index_generation", ctx.index_generation.load()}});
}

namespace {

// The persisted user_root_dir, or "" when none is saved.
std::string SavedUserRoot(const std::filesystem::path& config_file) {
  std::ifstream in(config_file);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return {};
  const bj::value* root = v.as_object().if_contains("user_root_dir");
  return root && root->is_string() ? std::string(root->as_string()) : std::string();
}

}  // namespace

Response HandleGetConfig(const AppContext& ctx, const Request&) {
  std::string saved = SavedUserRoot(ctx.config_file);
  return Response::Json(bj::object{{"user_root_dir", saved.empty() ? bj::value(nullptr) : bj::value(saved)},
                                   {"storage", ctx.root.string()},
                                   {"config_file", ctx.config_file.string()},
                                   {"version", ctx.version}});
}

// Runicorn switches the viewer's storage root live. Our viewer is the catalog's single indexer for
// the root it was started on, so switching would mean closing and reopening the catalog under
// every in-flight request; instead the path is validated and saved to the user config file, where
// `runicorn viewer` without --storage/RUNICORN_DIR picks it up on its next start. The response says
// so (restart_required), and "storage" stays the root actually served. See docs/API.md.
Response HandleSetUserRootDir(const AppContext& ctx, const Request& req) {
  RUNICORN_ASSIGN_OR_RESPOND(bj::object body, ParseJsonObject(req.body));
  const bj::value* path_v = body.if_contains("path");
  if (path_v == nullptr || !path_v->is_string() || path_v->as_string().empty())
    return Response::Error(400, "path is required and must be a non-empty string");
  std::filesystem::path path(std::string(path_v->as_string()));
  if (!path.is_absolute()) return Response::Error(400, "Invalid path: must be absolute");
  if (std::string(path_v->as_string()).find('\0') != std::string::npos)
    return Response::Error(400, "Invalid path");
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec || !std::filesystem::is_directory(path))
    return Response::Error(400, "Invalid path: Path does not exist or is not writable");
  // Writability probe: a temporary file, removed again.
  auto probe = path / ".runicorn-write-test";
  {
    std::ofstream out(probe);
    if (!out) return Response::Error(400, "Invalid path: Path does not exist or is not writable");
  }
  std::filesystem::remove(probe, ec);

  bj::object config;
  {
    std::ifstream in(ctx.config_file);
    if (in) {
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      boost::system::error_code jec;
      bj::value v = bj::parse(text, jec);
      if (!jec && v.is_object()) config = v.as_object();
    }
  }
  std::string normal = path.lexically_normal().string();
  config["user_root_dir"] = normal;
  std::filesystem::create_directories(ctx.config_file.parent_path(), ec);
  auto tmp = ctx.config_file;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << bj::serialize(config);
    if (!out) return Response::Error(500, "Cannot write the user config file");
  }
  std::filesystem::rename(tmp, ctx.config_file, ec);
  if (ec) return Response::Error(500, "Cannot write the user config file");
  return Response::Json(bj::object{{"ok", true},
                                   {"user_root_dir", normal},
                                   {"storage", ctx.root.string()},
                                   {"restart_required", normal != ctx.root.string()},
                                   {"message", "User root directory saved; it is used by the next "
                                               "`runicorn viewer` started without --storage or RUNICORN_DIR"}});
}

}  // namespace runicorn::server
