// `runicorn`: the viewer server and the command-line tools over one store.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/users_command.h"
#include "cli/import_command.h"
#include "cli/remote_command.h"
#include "cli/sync_command.h"
#include "cli/tasks_command.h"
#include "viewer/catalog_artifacts.h"
#include "viewer/catalog_users.h"
#include "viewer/migrate_command.h"
#include "viewer/viewer_command.h"
#include "service/build_info.h"

namespace {

constexpr const char* kUsage =
    "usage: runicorn <command> [options]\n"
    "\n"
    "commands:\n"
    "  viewer      serve the store over HTTP + WebSocket (REST API of Runicorn v0.5, web UI)\n"
    "  runs        list | show | delete | restore runs\n"
    "  export      write one run's metrics as JSON or CSV\n"
    "  artifacts   list | versions | info | alias | delete | restore | stats | download\n"
    "  gc          remove artifact chunks no version references (--dry-run to preview)\n"
    "  users       add | remove | list the accounts of the training service API (/api/v1)\n"
    "  config      --show the effective configuration, --set-user-root DIR\n"
    "  import      --from-runicorn DIR [--dry-run]: convert a Runicorn store into this one (safe to\n"
    "              repeat: what is already here is skipped; works while a viewer runs)\n"
    "  demo        write a demo store (or, with --runs N, a benchmark store)\n"
    "  simulate    run a simulated live training run\n"
    "  tasks       init | add | run | ls | status | show | log | wait | stop | rm | restore | mv | pin |\n"
    "              export: Pyruns-compatible experiment launcher (--tasks-root DIR, default: here)\n"
    "  sync        ship journals a central viewer has not acknowledged (--server URL; docs/REMOTE.md)\n"
    "  remote      sync | ls over SSH: pull a remote store's runs into this one (docs/REMOTE.md)\n"
    "  migrate     copy this store into PostgreSQL + an S3 bucket and check the copy (docs/SCALE-OUT.md)\n"
    "  version     print the version\n"
    "\n"
    "storage: --storage DIR, else $RUNICORN_DIR, else the saved user root, else ./.runicorn\n"
    "progress: export, gc and artifacts download draw a bar on stderr when it is a terminal (not with\n"
    "  --json); --progress forces it, --no-progress turns it off\n"
    "exit codes: 0 ok, 1 error, 2 usage/invalid argument, 3 catalog busy, 4 not found, 5 conflict\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? runicorn::cli::kExitUsage : runicorn::cli::kExitOk;
  }
  std::string command = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  using namespace runicorn::cli;
  if (command == "viewer") return runicorn::viewer::RunViewer(rest);
  if (command == "runs") return RunRuns(rest);
  if (command == "export") return RunExport(rest);
  if (command == "artifacts") return RunArtifacts(rest, runicorn::viewer::CatalogArtifactsOpener());
  if (command == "gc") return RunGc(rest);
  if (command == "users") return RunUsers(rest, runicorn::viewer::CatalogUsersOpener());
  if (command == "config") return RunConfig(rest);
  if (command == "import") return RunImport(rest);
  if (command == "demo") return RunDemo(rest);
  if (command == "simulate") return RunSimulate(rest);
  if (command == "tasks") return RunTasks(rest);
  if (command == "sync") return RunSync(rest);
  if (command == "remote") return RunRemote(rest);
  if (command == "migrate") return runicorn::viewer::RunMigrate(rest);
  if (command == "version" || command == "--version") {
    std::printf("runicorn %s\n", runicorn::service::RunicornVersion().c_str());
    return kExitOk;
  }
  std::fprintf(stderr, "runicorn: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitUsage;
}
