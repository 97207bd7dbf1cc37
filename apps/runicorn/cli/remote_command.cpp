// `runicorn remote sync|ls --host H --user U [--port P] [--key FILE] [--no-agent]
//  [--accept-host-key SHA256:...] [--storage DIR] REMOTE_PATH [RUN...]`
//
// Secrets never go on the command line (argv is visible to every user of the machine): a password
// comes from $RUNICORN_SSH_PASSWORD, a key passphrase from $RUNICORN_SSH_PASSPHRASE. Host keys are
// checked against the local store's known_hosts; an unknown key is printed with its fingerprint
// and trusted only when the same fingerprint is passed back with --accept-host-key.
//
// `sync` works on run folders (journals), never on the catalog, like `runicorn sync`: a viewer
// serving the local store indexes the appended bytes as it does a local writer's.
#include "cli/remote_command.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "runtrack/layout.h"
#include "service/ingest_service.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_service.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::cli {
using runtrack::Status;
namespace ssh = service::ssh;

namespace {

constexpr const char* kRemoteUsage =
    "usage: runicorn remote sync|ls --host HOST --user USER [--port 22] [--key FILE] [--no-agent]\n"
    "                        [--accept-host-key SHA256:...] [--storage DIR] REMOTE_PATH [RUN...]\n"
    "  sync: pull the run journals of the store at REMOTE_PATH into the local store (incremental,\n"
    "        resumable; only bytes past the local copy travel). ls: list a remote directory.\n"
    "  secrets: $RUNICORN_SSH_PASSWORD, $RUNICORN_SSH_PASSPHRASE (never on the command line)\n"
    "       runicorn remote viewer start|status|stop ...: a viewer on the SSH host, tunneled here\n"
    "        (runicorn remote viewer --help)\n";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

int RunRemote(const std::vector<std::string>& argv) {
  if (!argv.empty() && argv[0] == "viewer") return RunRemoteViewer({argv.begin() + 1, argv.end()});
  if (argv.empty() || (argv[0] != "sync" && argv[0] != "ls")) {
    std::fputs(kRemoteUsage, argv.empty() ? stderr : stdout);
    return argv.size() == 1 && (argv[0] == "--help" || argv[0] == "help") ? kExitOk : kExitUsage;
  }
  const std::string sub = argv[0];
  auto args = Args::Parse({argv.begin() + 1, argv.end()}, {"help", "no-agent"});
  if (!args.ok()) return Fail(args.status());
  if (args->Has("help")) {
    std::fputs(kRemoteUsage, stdout);
    return kExitOk;
  }
  if (auto unknown = args->Unknown({"host", "user", "port", "key", "no-agent", "accept-host-key", "storage", "help"});
      !unknown.empty()) {
    std::fprintf(stderr, "runicorn remote: unknown option %s\n%s", unknown[0].c_str(), kRemoteUsage);
    return kExitUsage;
  }
  if (args->positional().empty()) return Fail(Status::InvalidArgument("REMOTE_PATH is required"));
  ssh::SshCredentials creds;
  creds.host = args->Get("host").value_or("");
  creds.username = args->Get("user").value_or("");
  if (creds.host.empty() || creds.username.empty()) return Fail(Status::InvalidArgument("--host and --user are required"));
  if (auto p = args->Get("port")) {
    auto v = ParseInt64(*p);
    if (!v.ok() || *v < 1 || *v > 65535) return Fail(Status::InvalidArgument("--port must be 1..65535"));
    creds.port = static_cast<int>(*v);
  }
  creds.private_key_path = args->Get("key").value_or("");
  creds.use_agent = !args->Has("no-agent");
  creds.password = Env("RUNICORN_SSH_PASSWORD");
  creds.passphrase = Env("RUNICORN_SSH_PASSPHRASE");

  const runtrack::StoreLayout local(ResolveStorage(*args));
  const auto known_hosts = local.ssh_known_hosts_path();
  if (auto fp = args->Get("accept-host-key")) {
    if (Status st = ssh::SshSession::ConfirmHostKey(creds.host, creds.port, *fp, known_hosts); !st.ok()) return Fail(st);
  }
  ssh::ConnectError error;
  auto session = ssh::SshSession::Connect(creds, known_hosts, &error);
  if (!session) {
    if (error.host_key && error.host_key->reason == "unknown")
      std::fprintf(stderr, "runicorn remote: host key of %s:%d is not known: %s %s\n  to trust it, run again with --accept-host-key %s\n",
                   creds.host.c_str(), creds.port, error.host_key->key_type.c_str(),
                   error.host_key->fingerprint_sha256.c_str(), error.host_key->fingerprint_sha256.c_str());
    return Fail(error.status);
  }

  const std::string& remote_path = args->positional()[0];
  if (sub == "ls") {
    auto entries = session->ListDirectory(remote_path);
    if (!entries.ok()) return Fail(entries.status());
    for (const auto& e : *entries) std::printf("%s%s\t%llu\n", e.name.c_str(), e.is_dir ? "/" : "", static_cast<unsigned long long>(e.size));
    return kExitOk;
  }
  ssh::PullSyncOptions options;
  options.run_ids.assign(args->positional().begin() + 1, args->positional().end());
  // The local store may be new: its runs folder is where the pulled journals go.
  std::error_code ec;
  std::filesystem::create_directories(local.runs_dir(), ec);
  service::IngestService ingest(local);
  options.compacted = ssh::IngestInstaller(ingest, local);
  auto report = ssh::PullSync(*session, remote_path, ssh::IngestAppender(ingest), options);
  if (!report.ok()) return Fail(report.status());
  for (const auto& r : report->runs)
    std::printf("%s\t%llu bytes fetched\tlocal %llu -> %llu of %llu\n", r.run_id.c_str(),
                static_cast<unsigned long long>(r.bytes_fetched), static_cast<unsigned long long>(r.local_before),
                static_cast<unsigned long long>(r.local_after), static_cast<unsigned long long>(r.remote_size));
  for (const auto& s : report->skipped) std::fprintf(stderr, "runicorn remote: skipped %s\n", s.c_str());
  std::printf("%zu runs, %llu bytes fetched\n", report->runs.size(), static_cast<unsigned long long>(report->bytes_fetched));
  return report->skipped.empty() ? kExitOk : kExitError;
}

}  // namespace runicorn::cli
