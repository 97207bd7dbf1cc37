#include "service/task_launcher.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

namespace runicorn::service {
namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr uintmax_t kMaxReadBytes = 4u << 20;

// `p` (absolute, normalized) is `base` or below it.
bool Inside(const fs::path& p, const fs::path& base) {
  auto rel = p.lexically_relative(base);
  return !rel.empty() && *rel.begin() != "..";
}

// `path` from outside, relative to `root` unless absolute, symlinks resolved as far as it exists;
// nullopt when it lands outside `root`.
std::optional<fs::path> Resolve(const fs::path& root, const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos) return std::nullopt;
  std::error_code ec;
  fs::path p = fs::path(path).is_absolute() ? fs::path(path) : root / path;
  p = fs::weakly_canonical(p, ec);
  if (ec || !Inside(p, root)) return std::nullopt;
  return p;
}

Status Outside(const std::string& path, const fs::path& root) {
  return Status::InvalidArgument(fmt::format("'{}' is not inside the project folder {}", path, root.string()));
}

Result<fs::path> ResolveScript(const fs::path& root, const std::string& script) {
  if (script.empty()) return Status::InvalidArgument("script is required");
  auto p = Resolve(root, script);
  if (!p) return Outside(script, root);
  std::error_code ec;
  if (p->extension() != ".py") return Status::InvalidArgument(fmt::format("'{}' is not a .py script", script));
  if (!fs::is_regular_file(*p, ec)) return Status::NotFound(fmt::format("script '{}' does not exist", script));
  return *p;
}

bool IsConfigFile(const fs::path& p) {
  auto ext = p.extension();
  return ext == ".yaml" || ext == ".yml";
}

// The workspace folder name Pyruns gives a script.
std::string WorkspaceName(const fs::path& script) {
  std::string stem = script.stem().string();
  return stem == "_shell_" ? "py_shell_" : stem;
}

std::string ReadSmall(const fs::path& p) {
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec || size > kMaxReadBytes) return {};
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// script_info.json's script_path ("" if absent or unreadable).
std::string ScriptOfWorkspace(const fs::path& ws) {
  boost::system::error_code ec;
  auto v = runtrack::ParseJson(ReadSmall(ws / "script_info.json"), ec);
  if (ec || !v.is_object()) return {};
  const auto* s = v.as_object().if_contains("script_path");
  return s && s->is_string() ? std::string(s->as_string()) : std::string();
}

// Workspace folders under `_pyruns_/` (not hidden), by name.
std::vector<fs::path> WorkspaceDirs(const fs::path& root) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(root / "_pyruns_", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && it->is_directory(ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ConfigSource(const std::string& source) {
  auto has = [&](std::string_view s) { return source.find(s) != std::string::npos; };
  if (has("pyruns.load(") || has("pyruns.read(") || has("from pyruns import")) return "pyruns_load";
  if (has("@hydra.main") || has("import hydra")) return "hydra";
  if (has("argparse") && has("add_argument(")) return "argparse";
  return "unknown";
}

}  // namespace

Result<std::vector<LauncherScript>> TaskLauncher::Scripts() {
  const fs::path& root = tasks_.project_root();
  std::vector<LauncherScript> out;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".py" || p.filename().string()[0] == '.' || !it->is_regular_file(ec)) continue;
    auto resolved = Resolve(root, p.string());
    if (!resolved) continue;  // a symlink out of the project
    out.push_back({resolved->string(), WorkspaceName(*resolved), resolved->lexically_relative(root).string(), "", "file"});
  }
  for (const fs::path& ws : WorkspaceDirs(root)) {
    std::string script = ScriptOfWorkspace(ws);
    if (script.empty() || ws.filename() == "_shell_") continue;
    auto same = std::find_if(out.begin(), out.end(), [&](const LauncherScript& s) { return s.script_path == script; });
    if (same != out.end()) {
      same->workspace_path = ws.string();
      same->source = "workspace+file";
      continue;
    }
    // A workspace whose script lives elsewhere (or is gone): listed, with its path as recorded.
    fs::path sp(script);
    std::string label = Inside(sp.lexically_normal(), root) ? sp.lexically_relative(root).string() : sp.filename().string();
    out.push_back({script, ws.filename().string(), label, ws.string(), "workspace"});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
  return out;
}

Result<LauncherConfigs> TaskLauncher::Configs(const std::string& script) {
  const fs::path& root = tasks_.project_root();
  RUNTRACK_ASSIGN_OR_RETURN(fs::path sp, ResolveScript(root, script));
  LauncherConfigs out;
  std::error_code ec;
  fs::path def = root / "_pyruns_" / WorkspaceName(sp) / "config_default.yaml";
  bool has_default = fs::is_regular_file(def, ec);
  if (has_default) out.items.push_back({def.string(), "config_default.yaml (workspace)", "workspace_default"});
  auto scan = [&](const fs::path& dir, const std::string& kind, const std::string& prefix) {
    std::vector<LauncherConfig> found;
    std::error_code iec;
    for (fs::directory_iterator it(dir, iec), end; !iec && it != end; it.increment(iec)) {
      if (!IsConfigFile(it->path()) || !it->is_regular_file(iec)) continue;
      auto resolved = Resolve(root, it->path().string());
      if (!resolved) continue;
      found.push_back({resolved->string(), prefix + it->path().filename().string(), kind});
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.label < b.label; });
    out.items.insert(out.items.end(), found.begin(), found.end());
  };
  scan(sp.parent_path(), "script_dir", "");
  for (const char* sub : {"configs", "config", "conf"}) {
    auto dir = Resolve(root, (sp.parent_path() / sub).string());
    if (dir && fs::is_directory(*dir, ec)) scan(*dir, "script_config_dir", std::string(sub) + "/");
  }
  out.config_source = ConfigSource(ReadSmall(sp));
  out.requires_config_template = out.config_source == "pyruns_load" && !has_default;
  return out;
}

Result<std::vector<LauncherWorkspace>> TaskLauncher::Workspaces(const std::string& script, const std::string& config) {
  const fs::path& root = tasks_.project_root();
  std::vector<LauncherWorkspace> out;
  std::error_code ec;
  auto with_default = [&](LauncherWorkspace& w) {
    fs::path def = fs::path(w.workspace_path) / "config_default.yaml";
    if (fs::is_regular_file(def, ec)) {
      w.config_path = def.string();
      w.config_name = "config_default.yaml";
    }
  };
  if (script.empty()) {
    if (!config.empty()) return Status::InvalidArgument("config needs a script");
    for (const fs::path& ws : WorkspaceDirs(root)) {
      LauncherWorkspace w;
      w.workspace_path = ws.string();
      w.script_name = ws.filename().string();
      w.script_path = w.script_name == "_shell_" ? "" : ScriptOfWorkspace(ws);
      w.exists = true;
      with_default(w);
      out.push_back(std::move(w));
    }
    return out;
  }
  RUNTRACK_ASSIGN_OR_RETURN(fs::path sp, ResolveScript(root, script));
  LauncherWorkspace w;
  w.script_path = sp.string();
  w.script_name = WorkspaceName(sp);
  w.workspace_path = (root / "_pyruns_" / w.script_name).string();
  w.exists = fs::is_directory(w.workspace_path, ec);
  if (!config.empty()) {
    auto cp = Resolve(root, config);
    if (!cp) return Outside(config, root);
    if (!IsConfigFile(*cp) || !fs::is_regular_file(*cp, ec))
      return Status::InvalidArgument(fmt::format("config '{}' is not an existing .yaml/.yml file", config));
    w.config_path = cp->string();
    w.config_name = cp->filename().string();
  } else {
    with_default(w);
  }
  out.push_back(std::move(w));
  return out;
}

Result<LauncherPathCheck> TaskLauncher::ValidatePath(const std::string& kind, const std::string& path) {
  if (kind != "python" && kind != "shell" && kind != "config")
    return Status::InvalidArgument(fmt::format("kind must be python, shell or config, not '{}'", kind));
  const fs::path& root = tasks_.project_root();
  LauncherPathCheck out;
  out.kind = kind;
  if (path.empty()) {
    out.message = "path is empty";
    return out;
  }
  auto p = Resolve(root, path);
  if (!p) {
    // Whether something exists outside is not told.
    out.message = fmt::format("the path is not inside the project folder {}", root.string());
    return out;
  }
  out.normalized_path = p->string();
  std::error_code ec;
  auto st = fs::status(*p, ec);
  out.path_type = fs::is_regular_file(st) ? "file" : fs::is_directory(st) ? "directory" : "missing";
  if (out.path_type == "missing") {
    out.message = "no such file or folder";
  } else if (kind == "python") {
    if (out.path_type != "file" || p->extension() != ".py") out.message = "not a .py file";
  } else if (kind == "shell") {
    if (out.path_type != "directory") out.message = "not a folder";
  } else if (out.path_type != "file" || (!IsConfigFile(*p) && p->extension() != ".json")) {
    out.message = "not a .yaml, .yml or .json file";
  }
  out.ok = out.message.empty();
  return out;
}

Result<WorkspaceView> TaskLauncher::Open(const std::string& script_path, const std::string& config_path) {
  const fs::path& root = tasks_.project_root();
  RUNTRACK_ASSIGN_OR_RETURN(fs::path sp, ResolveScript(root, script_path));
  std::string config_text;
  if (!config_path.empty()) {
    auto cp = Resolve(root, config_path);
    if (!cp) return Outside(config_path, root);
    std::error_code ec;
    if (!IsConfigFile(*cp) || !fs::is_regular_file(*cp, ec))
      return Status::InvalidArgument(fmt::format("config '{}' is not an existing .yaml/.yml file", config_path));
    if (fs::file_size(*cp, ec) > kMaxReadBytes)
      return Status::InvalidArgument(fmt::format("config '{}' is larger than 4 MiB", config_path));
    config_text = ReadSmall(*cp);
  }
  return tasks_.InitScript(sp, config_text);
}

Result<WorkspaceView> TaskLauncher::OpenShellRoot(const std::string& path) {
  const fs::path& root = tasks_.project_root();
  auto p = Resolve(root, path);
  if (!p || *p != root)
    return Status::InvalidArgument(fmt::format(
        "this viewer runs tasks of {} only; start it with --tasks-root to use another folder", root.string()));
  return tasks_.InitShell();
}

}  // namespace runicorn::service
