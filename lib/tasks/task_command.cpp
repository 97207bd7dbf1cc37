#include "tasks/task_command.h"

#include <unistd.h>

#include <fmt/format.h>

#include "tasks/config_value.h"
#include "tasks/task_info_store.h"
#include "util/files.h"

extern char** environ;

namespace runtrack::tasks {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string FlagValue(const ConfigValue& v) {
  switch (v.type) {
    case ConfigValue::Type::kBool: return v.b ? "True" : "False";
    case ConfigValue::Type::kString: return v.s;
    default: return PythonStr(v);
  }
}

// argparse flags from the task's config: `--key value`, nested keys dotted.
void AppendFlags(const ConfigValue& map, const std::string& prefix, std::vector<std::string>* argv) {
  for (const auto& [key, value] : map.map) {
    if (!key.empty() && key[0] == '_') continue;  // Pyruns' _meta keys
    std::string flag = prefix.empty() ? key : prefix + "." + key;
    switch (value.type) {
      case ConfigValue::Type::kNull: break;
      case ConfigValue::Type::kBool:
        if (value.b) argv->push_back("--" + flag);
        break;
      case ConfigValue::Type::kMap: AppendFlags(value, flag, argv); break;
      case ConfigValue::Type::kList:
        argv->push_back("--" + flag);
        for (const auto& item : value.list) argv->push_back(FlagValue(item));
        break;
      default:
        argv->push_back("--" + flag);
        argv->push_back(FlagValue(value));
    }
  }
}

bool UsesArgparse(const fs::path& script) {
  auto text = util::ReadFile(script);
  if (!text.ok()) return false;
  bool pyruns = text->find("pyruns.load") != std::string::npos || text->find("pyruns.read") != std::string::npos;
  return !pyruns && text->find("argparse") != std::string::npos && text->find("add_argument") != std::string::npos;
}

}  // namespace

Result<LaunchPlan> PlanLaunch(const Workspace& workspace, const std::string& task,
                              const json::object& info, int run_index,
                              const TaskRunnerOptions& options,
                              const std::map<std::string, std::string>& extra_env) {
  fs::path task_dir = workspace.dir() / "tasks" / task;
  bool shell = GetString(info, "task_kind", "python") == "shell";
  LaunchPlan plan;
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  env["PYTHONIOENCODING"] = "utf-8";
  env["PYTHONUTF8"] = "1";
  env["PYTHONUNBUFFERED"] = "1";
  env.erase("__PYRUNS_CONFIG__");
  std::string config_file = GetString(info, "config_file", shell ? "config.sh" : "config.yaml");
  if (config_file.find('/') != std::string::npos || config_file.starts_with(".."))
    return Status::Corruption(fmt::format("task '{}' names config file '{}' outside its folder", task, config_file));
  if (!shell) env["__PYRUNS_CONFIG__"] = (task_dir / config_file).string();
  for (const auto& [k, v] : options.global_env) env[k] = v;
  if (auto it = info.find("env"); it != info.end() && it->value().is_object())
    for (const auto& [k, v] : it->value().as_object())
      if (v.is_string()) env[std::string(k)] = std::string(v.as_string());
  for (const auto& [k, v] : extra_env) env[k] = v;
  env.erase("PYRUNS_UI_TOKEN");
  env["PYRUNS_RUN_INDEX"] = fmt::format("{}", run_index);
  env["RUNICORN_TASK"] = task_dir.string();
  env["RUNICORN_TASK_RUN"] = fmt::format("{}", run_index);
  if (!options.runicorn_dir.empty()) env["RUNICORN_DIR"] = options.runicorn_dir.string();
  for (const auto& [k, v] : env) plan.spec.env.push_back(k + "=" + v);

  std::vector<std::string> argv;
  if (auto it = info.find("cmd"); it != info.end() && it->value().is_array() && !it->value().as_array().empty()) {
    for (const auto& a : it->value().as_array()) {
      if (!a.is_string()) return Status::Corruption(fmt::format("task '{}' has a non-string cmd entry", task));
      argv.emplace_back(a.as_string());
    }
  }
  std::string workdir = GetString(info, "workdir");
  if (shell) {
    if (argv.empty()) argv = {options.shell_executable, (task_dir / config_file).string()};
    plan.spec.cwd = workdir.empty() ? workspace.project_root() : fs::path(workdir);
    plan.hashed_script = task_dir / config_file;
  } else {
    fs::path script = GetString(info, "script", workspace.script_path().string());
    if (argv.empty()) {
      argv = {options.python_executable, script.string()};
      if (UsesArgparse(script)) {
        auto text = util::ReadFile(task_dir / config_file);
        if (!text.ok()) return text.status();
        RUNTRACK_ASSIGN_OR_RETURN(ConfigValue config, ParseYamlConfig(*text));
        if (config.type == ConfigValue::Type::kMap) AppendFlags(config, "", &argv);
      }
    }
    plan.spec.cwd = workdir.empty() ? script.parent_path() : fs::path(workdir);
    plan.hashed_script = script;
  }
  plan.spec.argv = std::move(argv);
  return plan;
}

}  // namespace runtrack::tasks
