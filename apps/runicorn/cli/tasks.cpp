// `runicorn tasks`: argument handling and the verbs that do not run anything.
#include <cstdio>
#include <fstream>
#include <iterator>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/tasks_command.h"
#include "encode/task_json.h"

namespace runicorn::cli {
namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: runicorn tasks [--tasks-root DIR] [--workspace NAME] <verb> ...\n"
    "  init SCRIPT.py [--config FILE] | init --shell     create/select a workspace\n"
    "  add [TEMPLATE.yaml] [--name PREFIX] [--single] [--no-timestamp] [--env K=V]...\n"
    "  add --cmd 'SHELL COMMAND' [--name PREFIX] ...      a task of the shell workspace\n"
    "  run [NAME...] [-j N] [--detach]                   run (all pending tasks when no name)\n"
    "  ls [--status S] [--offset N] [--limit N] | status | show NAME | log NAME [--file runN.log]\n"
    "  wait [NAME...] [--timeout SEC] | stop NAME... [--timeout SEC]\n"
    "  rm NAME... | restore TRASHED [--as NAME] | mv OLD NEW | pin NAME [--off] | export [NAME...] [-o FILE]\n"
    "  --json prints the viewer's API bodies; exit codes as for every command (5: refused in this state)\n";

const std::set<std::string> kBooleans = {"json", "shell", "single", "no-timestamp", "detach", "off", "help"};
const std::set<std::string> kKnown = {"json",  "shell",   "single", "no-timestamp", "detach", "off",    "help",
                                      "tasks-root", "workspace", "config", "name", "env", "cmd", "workers",
                                      "status", "offset", "limit", "file", "bytes", "timeout", "as", "output"};

// `-j N`/`-jN` (pyr's worker flag) and `-o FILE` as the long options Args understands.
std::vector<std::string> Normalize(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s == "-j" || s == "-o") {
      out.push_back(s == "-j" ? "--workers" : "--output");
    } else if (s.size() > 2 && s.compare(0, 2, "-j") == 0) {
      out.push_back("--workers=" + s.substr(2));
    } else {
      out.push_back(s);
    }
  }
  return out;
}

// Every `--env K=V` (Args keeps only the last of a repeated flag).
runtrack::Result<std::map<std::string, std::string>> EnvValues(const std::vector<std::string>& argv) {
  std::map<std::string, std::string> env;
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string kv;
    if (argv[i] == "--env" && i + 1 < argv.size()) kv = argv[++i];
    else if (argv[i].rfind("--env=", 0) == 0) kv = argv[i].substr(6);
    else continue;
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return runtrack::Status::InvalidArgument(fmt::format("--env takes KEY=VALUE, not '{}'", kv));
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

runtrack::Result<std::string> ReadFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return runtrack::Status::NotFound(fmt::format("cannot read {}", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> Rest(const Args& args) {
  return {args.positional().begin() + 1, args.positional().end()};
}

int PrintWorkspace(const service::WorkspaceView& ws, bool json) {
  if (json) return PrintJson(encode::Workspace(ws)), kExitOk;
  std::printf("workspace %s (%s): %s\n", ws.script_name.c_str(), ws.workspace_kind.c_str(), ws.run_root.c_str());
  return kExitOk;
}

int Init(service::TaskService& svc, const Args& args) {
  runtrack::Result<service::WorkspaceView> ws = runtrack::Status::Internal("unset");
  if (args.Has("shell")) {
    if (args.positional().size() != 1) return tasks::UsageError("init --shell takes no script");
    ws = svc.InitShell();
  } else {
    if (args.positional().size() != 2) return tasks::UsageError("init needs SCRIPT.py or --shell");
    std::string config;
    if (auto file = args.Get("config")) {
      auto text = ReadFileText(*file);
      if (!text.ok()) return Fail(text.status());
      config = std::move(*text);
    }
    ws = svc.InitScript(args.positional()[1], config);
  }
  if (!ws.ok()) return Fail(ws.status());
  return PrintWorkspace(*ws, args.Has("json"));
}

int Add(service::TaskService& svc, const Args& args, const std::vector<std::string>& argv) {
  service::GeneratorRequest r;
  r.name_prefix = args.Get("name").value_or("");
  r.append_timestamp = !args.Has("no-timestamp");
  auto env = EnvValues(argv);
  if (!env.ok()) return Fail(env.status());
  r.env = std::move(*env);
  if (auto cmd = args.Get("cmd")) {
    if (args.positional().size() != 1) return tasks::UsageError("add --cmd takes no template file");
    // A command is a task of the shell workspace, as `pyr exec` makes one.
    if (auto ws = svc.InitShell(); !ws.ok()) return Fail(ws.status());
    r.mode = "shell";
    r.shell_text = *cmd;
  } else {
    if (args.positional().size() > 2) return tasks::UsageError("add takes at most one template file");
    r.mode = args.Has("single") ? "yaml" : "form";
    if (args.positional().size() == 2) {
      auto text = ReadFileText(args.positional()[1]);
      if (!text.ok()) return Fail(text.status());
      r.yaml_text = std::move(*text);
    }
  }
  auto created = svc.Create(r);
  if (!created.ok()) return Fail(created.status());
  if (args.Has("json")) return PrintJson(encode::GeneratorResult(*created)), kExitOk;
  for (const auto& n : created->names) std::printf("%s\n", n.c_str());
  return kExitOk;
}

int List(service::TaskService& svc, const Args& args, bool counts_only) {
  runtrack::TaskListQuery q;
  q.rescan = true;  // a CLI process has no warm index; other tools' edits must show
  if (auto s = args.Get("status"); s && *s != "All") {
    auto st = runtrack::ParseTaskStatus(*s);
    if (!st.ok()) return Fail(st.status());
    q.status = *st;
  }
  for (auto [flag, field] : {std::pair{"offset", &q.offset}, std::pair{"limit", &q.limit}}) {
    if (auto v = args.Get(flag)) {
      auto n = ParseInt64(*v);
      if (!n.ok() || *n < 0) return Fail(runtrack::Status::InvalidArgument(fmt::format("--{} must be a non-negative integer", flag)));
      *field = static_cast<size_t>(*n);
    }
  }
  if (counts_only) q.limit = 1;
  auto page = svc.List(q);
  if (!page.ok()) return Fail(page.status());
  bj::object body = encode::TaskPage(*page, q.limit);
  if (counts_only) {
    if (args.Has("json")) return PrintJson(body.at("status_counts")), kExitOk;
    for (const auto& kv : body.at("status_counts").as_object())
      std::printf("%-10s %s\n", std::string(kv.key()).c_str(), FormatValue(kv.value()).c_str());
    return kExitOk;
  }
  if (args.Has("json")) return PrintJson(body), kExitOk;
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : page->items)
    rows.push_back({t.name, std::string(runtrack::TaskStatusName(t.status)),
                    t.kind == runtrack::TaskKind::kShell ? "shell" : "python", std::to_string(t.run_index),
                    t.created_at, t.pinned ? "yes" : ""});
  PrintTable({"NAME", "STATUS", "KIND", "RUNS", "CREATED", "PINNED"}, rows);
  if (page->has_more) std::printf("(%zu of %zu; --offset %zu for more)\n", page->items.size(), page->total, page->offset + page->items.size());
  return kExitOk;
}

int Show(service::TaskService& svc, const Args& args) {
  if (args.positional().size() != 2) return tasks::UsageError("show needs one task name");
  auto d = svc.Show(args.positional()[1]);
  if (!d.ok()) return Fail(d.status());
  bj::object body = encode::TaskDetail(*d);
  if (args.Has("json")) return PrintJson(body), kExitOk;
  for (const char* key : {"name", "status", "task_kind", "created_at", "run_index", "pinned", "dir", "notes"})
    if (const auto* v = body.if_contains(key)) std::printf("%-11s %s\n", key, FormatValue(*v).c_str());
  std::vector<std::vector<std::string>> rows;
  auto at = [&](const char* key, size_t i) -> std::string {
    const auto* a = body.if_contains(key);
    return a && a->is_array() && i < a->as_array().size() ? FormatValue(a->as_array()[i]) : "-";
  };
  for (int i = 0; i < d->summary.run_index; ++i)
    rows.push_back({std::to_string(i + 1), at("run_statuses", i), at("start_times", i), at("durations", i),
                    at("exit_codes", i)});
  if (!rows.empty()) PrintTable({"RUN", "STATUS", "STARTED", "DURATION", "EXIT"}, rows);
  return kExitOk;
}

int Log(service::TaskService& svc, const Args& args) {
  if (args.positional().size() != 2) return tasks::UsageError("log needs one task name");
  runtrack::TaskLogQuery q;
  q.log_file_name = args.Get("file").value_or("");
  q.max_bytes = 4u << 20;
  if (auto b = args.Get("bytes")) {
    auto n = ParseInt64(*b);
    if (!n.ok() || *n < 1 || *n > (4 << 20)) return Fail(runtrack::Status::InvalidArgument("--bytes must be in [1, 4194304]"));
    q.max_bytes = static_cast<size_t>(*n);
  }
  auto chunk = svc.ReadLog(args.positional()[1], q);
  if (!chunk.ok()) return Fail(chunk.status());
  if (args.Has("json")) return PrintJson(encode::TaskLog(args.positional()[1], *chunk)), kExitOk;
  std::fwrite(chunk->content.data(), 1, chunk->content.size(), stdout);
  return kExitOk;
}

int Edit(service::TaskService& svc, const Args& args) {
  const std::string& verb = args.positional()[0];
  auto names = Rest(args);
  runtrack::Status s;
  if (verb == "rm") {
    auto r = svc.Trash(names);
    if (!r.ok()) return Fail(r.status());
    if (args.Has("json")) PrintJson(encode::TrashReport(*r));
    else for (const auto& n : r->deleted) std::printf("moved %s to the trash\n", n.c_str());
    for (const auto& [n, why] : r->skipped) std::fprintf(stderr, "runicorn: %s\n", why.message().c_str());
    return r->skipped.empty() ? kExitOk : ExitCodeFor(r->skipped.front().second);
  }
  if (verb == "restore") {
    if (names.size() != 1) return tasks::UsageError("restore needs one trashed task");
    auto r = svc.Restore(names[0], args.Get("as").value_or(""));
    if (!r.ok()) return Fail(r.status());
    std::printf("restored %s\n", r->c_str());
    return kExitOk;
  }
  if (verb == "mv") {
    if (names.size() != 2) return tasks::UsageError("mv needs OLD and NEW");
    s = svc.Rename(names[0], names[1]);
  } else if (verb == "pin") {
    if (names.size() != 1) return tasks::UsageError("pin needs one task name");
    auto r = svc.Pin(names[0], !args.Has("off"));
    if (!r.ok()) return Fail(r.status());
  }
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

int Export(service::TaskService& svc, const Args& args) {
  auto csv = svc.ExportCsv(Rest(args));
  if (!csv.ok()) return Fail(csv.status());
  if (auto out = args.Get("output")) {
    std::ofstream f(*out, std::ios::binary | std::ios::trunc);
    if (!(f << *csv) || !f.flush()) return Fail(runtrack::Status::IOError(fmt::format("cannot write {}", *out)));
    return kExitOk;
  }
  std::fwrite(csv->data(), 1, csv->size(), stdout);
  return kExitOk;
}

}  // namespace

namespace tasks {

int UsageError(const char* message) {
  if (message) std::fprintf(stderr, "runicorn tasks: %s\n", message);
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

service::TaskServiceOptions ServiceOptions(const Args& args) {
  service::TaskServiceOptions o;
  std::error_code ec;
  o.project_root = args.Get("tasks-root") ? fs::path(*args.Get("tasks-root")) : fs::current_path(ec);
  if (const char* dir = std::getenv("RUNICORN_DIR"); dir && *dir) o.runicorn_dir = dir;
  return o;
}

bool SelectWorkspace(service::TaskService& svc, const Args& args, int* exit_code) {
  auto ws = args.Get("workspace");
  if (!ws) return true;
  auto r = svc.UseWorkspace(*ws);
  if (!r.ok()) *exit_code = Fail(r.status());
  return r.ok();
}

}  // namespace tasks

int RunTasks(const std::vector<std::string>& raw) {
  const std::vector<std::string> argv = Normalize(raw);
  auto args = Args::Parse(argv, kBooleans);
  if (!args.ok()) return tasks::UsageError(args.status().message().c_str());
  if (args->Has("help")) return std::fputs(kUsage, stdout), kExitOk;
  if (auto unknown = args->Unknown(kKnown); !unknown.empty())
    return tasks::UsageError(fmt::format("unknown option --{}", unknown[0]).c_str());
  if (args->positional().empty()) return tasks::UsageError();
  const std::string& verb = args->positional()[0];
  // `run` builds its own service: with --detach it must fork before any thread exists.
  if (verb == "run") return tasks::Run(*args);

  service::TaskService svc(tasks::ServiceOptions(*args));
  int code = kExitOk;
  if (verb != "init" && !tasks::SelectWorkspace(svc, *args, &code)) return code;
  if (verb == "init") return Init(svc, *args);
  if (verb == "add") return Add(svc, *args, argv);
  if (verb == "ls") return List(svc, *args, false);
  if (verb == "status") return List(svc, *args, true);
  if (verb == "show") return Show(svc, *args);
  if (verb == "log") return Log(svc, *args);
  if (verb == "wait") return tasks::Wait(svc, *args);
  if (verb == "stop") return tasks::Stop(svc, *args);
  if (verb == "rm" || verb == "restore" || verb == "mv" || verb == "pin") return Edit(svc, *args);
  if (verb == "export") return Export(svc, *args);
  return tasks::UsageError(fmt::format("unknown verb '{}'", verb).c_str());
}

}  // namespace runicorn::cli
