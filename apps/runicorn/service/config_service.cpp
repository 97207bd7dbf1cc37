#include "service/config_service.h"

#include <cstdlib>
#include <fstream>

#include <boost/json.hpp>

#include "runtrack/store.h"

namespace runicorn::service {
namespace bj = boost::json;
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

bj::object ReadConfigObject(const fs::path& config_file) {
  std::ifstream in(config_file);
  if (!in) return {};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

std::string SavedUserRoot(const fs::path& config_file) {
  bj::object config = ReadConfigObject(config_file);
  const bj::value* root = config.if_contains("user_root_dir");
  return root && root->is_string() ? std::string(root->as_string()) : std::string();
}

}  // namespace

fs::path DefaultUserConfigFile() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0')
    return fs::path(xdg) / "runicorn" / "config.json";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return fs::path(home) / ".config" / "runicorn" / "config.json";
  return ".runicorn-config.json";
}

fs::path ResolveStoreRoot(const std::optional<std::string>& explicit_root, const fs::path& config_file) {
  if (explicit_root && !explicit_root->empty()) return *explicit_root;
  if (const char* env = std::getenv("RUNICORN_DIR"); env != nullptr && *env != '\0') return env;
  if (std::string saved = SavedUserRoot(config_file); !saved.empty()) return saved;
  return runtrack::DefaultStoreRoot();
}

ConfigView ConfigService::Get() const { return {SavedUserRoot(config_file_), served_root_, config_file_, version_}; }

Result<UserRootChange> ConfigService::SetUserRootDir(const std::string& text) const {
  if (text.empty()) return Status::InvalidArgument("path is required and must be a non-empty string");
  fs::path path(text);
  if (!path.is_absolute()) return Status::InvalidArgument("Invalid path: must be absolute");
  if (text.find('\0') != std::string::npos) return Status::InvalidArgument("Invalid path");
  const Status unusable = Status::InvalidArgument("Invalid path: Path does not exist or is not writable");
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec || !fs::is_directory(path)) return unusable;
  // Writability probe: a temporary file, removed again.
  auto probe = path / ".runicorn-write-test";
  {
    std::ofstream out(probe);
    if (!out) return unusable;
  }
  fs::remove(probe, ec);

  bj::object config = ReadConfigObject(config_file_);
  std::string normal = path.lexically_normal().string();
  config["user_root_dir"] = normal;
  fs::create_directories(config_file_.parent_path(), ec);
  auto tmp = config_file_;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << bj::serialize(config);
    if (!out) return Status::IOError("Cannot write the user config file");
  }
  fs::rename(tmp, config_file_, ec);
  if (ec) return Status::IOError("Cannot write the user config file");
  return UserRootChange{normal, normal != served_root_.string()};
}

}  // namespace runicorn::service
