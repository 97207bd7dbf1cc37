// Shared pieces of the `runicorn` subcommands: argument parsing, storage resolution, exit codes,
// tables. Commands call the services (through StoreAccess, which may instead reach a running
// viewer) and print the API's JSON (encode/api_json.h) for --json, byte for byte, or a table of it.
#pragma once

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "cli/artifact_download.h"
#include "cli/store_access.h"
#include "runtrack/status.h"

namespace runicorn::cli {

// Exit codes: scripts can tell "nothing there" from "you called it wrong" from "try later".
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,      // the operation failed (I/O, corruption, a server-side fault)
  kExitUsage = 2,      // bad command line or invalid argument
  kExitBusy = 3,       // the catalog is held by another process (a running viewer)
  kExitNotFound = 4,   // the run / artifact / version does not exist
  kExitConflict = 5,   // refused in the current state (e.g. deleting a running run)
};

// `--flag value`, `--flag=value`, bare boolean flags (listed in `booleans`) and positionals.
class Args {
 public:
  static runtrack::Result<Args> Parse(const std::vector<std::string>& argv, const std::set<std::string>& booleans);
  const std::vector<std::string>& positional() const { return positional_; }
  std::optional<std::string> Get(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Names of flags given but not in `known` (reported as a usage error).
  std::vector<std::string> Unknown(const std::set<std::string>& known) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
};

// --storage, then $RUNICORN_DIR, then the saved user_root_dir (POST /api/config/user_root_dir,
// `runicorn config`), then ./.runicorn — Runicorn's order.
std::filesystem::path ResolveStorage(const Args& args);
std::filesystem::path UserConfigFile();

// Where a command's progress bar goes: nowhere with --no-progress (even with --progress), stderr
// with --progress, and otherwise stderr only when it is a terminal and --json was not asked for (a
// script reading the JSON wants a quiet stderr too). nullptr disables the bar (see ProgressBar).
std::FILE* ProgressOutput(const Args& args);

// Opens the store (locally, or through the viewer holding its catalog) for a CLI command; prints
// the reason and sets the exit code on failure.
runtrack::Result<std::unique_ptr<StoreAccess>> OpenStore(const Args& args, int* exit_code);

// A base-10 integer (optional '+', surrounding spaces allowed); InvalidArgument otherwise.
runtrack::Result<int64_t> ParseInt64(std::string_view text);

// invalid_argument 2, not_found 4, busy 3, already_exists / failed_precondition 5, else 1.
int ExitCodeFor(const runtrack::Status& status);
// Prints "runicorn: <message>" to stderr and returns ExitCodeFor(status).
int Fail(const runtrack::Status& status);

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string FormatTime(double unix_seconds);
std::string FormatBytes(uint64_t bytes);
std::string FormatValue(const boost::json::value& v);  // numbers compact, null as "-"
void PrintJson(const boost::json::value& v);

// Subcommands.
int RunRuns(const std::vector<std::string>& argv);
int RunExport(const std::vector<std::string>& argv);
// `open_catalog`: for `artifacts download --catalog` (artifact_download.h).
int RunArtifacts(const std::vector<std::string>& argv, const CatalogArtifactsOpener& open_catalog = {});
int RunGc(const std::vector<std::string>& argv);
int RunConfig(const std::vector<std::string>& argv);
int RunDemo(const std::vector<std::string>& argv);
int RunSimulate(const std::vector<std::string>& argv);

}  // namespace runicorn::cli
