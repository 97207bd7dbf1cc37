// The user's configuration file (Runicorn's user_root_dir) and which store a command works on.
//
// The file is `$XDG_CONFIG_HOME/runicorn/config.json`, else `~/.config/runicorn/config.json`.
// Writes are atomic (temporary file + rename), so a crash never leaves half a file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runtrack/status.h"

namespace runicorn::service {

std::filesystem::path DefaultUserConfigFile();

// The store a command uses: `explicit_root` (--storage) if given, else $RUNICORN_DIR, else the
// saved user_root_dir, else ./.runicorn — Runicorn's order.
std::filesystem::path ResolveStoreRoot(const std::optional<std::string>& explicit_root,
                                       const std::filesystem::path& config_file);

struct ConfigView {
  std::string user_root_dir;  // "" when none is saved
  std::filesystem::path storage;
  std::filesystem::path config_file;
  std::string version;
};

struct UserRootChange {
  std::string user_root_dir;     // normalised
  bool restart_required = false; // it differs from the root being served
};

class ConfigService {
 public:
  ConfigService(std::filesystem::path config_file, std::filesystem::path served_root, std::string version)
      : config_file_(std::move(config_file)), served_root_(std::move(served_root)), version_(std::move(version)) {}

  ConfigView Get() const;
  // Validates (absolute, creatable, writable) and saves `path` as user_root_dir. It takes effect
  // on the next start of a viewer without --storage / RUNICORN_DIR: a viewer is the catalog's one
  // indexer for the root it was started on (docs/API.md).
  runtrack::Result<UserRootChange> SetUserRootDir(const std::string& path) const;

  const std::filesystem::path& config_file() const { return config_file_; }

 private:
  std::filesystem::path config_file_;
  std::filesystem::path served_root_;
  std::string version_;
};

}  // namespace runicorn::service
