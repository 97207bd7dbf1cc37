// `runicorn viewer`: serves one store over HTTP/WebSocket and indexes it continuously. The
// composition root of the server: it parses the command line with the CLI's helpers and starts
// the server, so it is the one place (with main.cpp) that sees both.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <unistd.h>

#include "cli/cli.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/client_address.h"
#include "server/http_server.h"
#include "server/origin_policy.h"
#include "server/indexer.h"
#include "server/ingest_forwarding.h"
#include "server/read_forwarding.h"
#include "server/training_log_forwarding.h"
#include "server/params.h"
#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_run_ownership.h"
#include "service/pg/pg_shared_task_queue.h"
#include "service/pg/pg_training_jobs.h"
#endif
#include "service/local_run_activity.h"
#include "service/periodic_pass.h"
#include "service/s3/finished_run_sealer.h"
#include "service/viewer_endpoint.h"
#include "viewer/team_backend.h"
#include "viewer/viewer_command.h"

#ifndef RUNICORN_WEB_SOURCE_DIR
#define RUNICORN_WEB_SOURCE_DIR ""
#endif

namespace runicorn::viewer {
using namespace runicorn::cli;
namespace {

constexpr const char* kUsage =
    "usage: runicorn viewer [--storage DIR] [--host 127.0.0.1] [--port 23300]\n"
    "                       [--token-file FILE | --token T] [--threads N] [--insecure]\n"
    "                       [--rate-limits FILE] [--web-root DIR] [--max-body BYTES]\n"
    "                       [--max-connections N] [--allowed-origin ORIGIN]... [--allowed-host NAME]...\n"
    "                       [--trusted-proxy ADDR]... [--tasks-root DIR] [--task-workers N]\n"
    "                       [--ingest-token-file FILE] [--ingest-lease SECONDS]\n"
    "                       [--llm-service FILE]\n"
    "                       [--objects s3://BUCKET/PREFIX?endpoint=URL&region=R]\n"
    "                       [--catalog postgresql://[USER@]HOST[:PORT]/DATABASE]\n"
    "                       [--replica-url http://HOST:PORT]\n";

// Every value of a repeatable option (`--name V`, `--name=V`, each also comma-separated), in the
// order given; Args keeps only the last one. `booleans` are the flags that take no value.
std::vector<std::string> AllValues(const std::vector<std::string>& argv, const std::string& name,
                                   const std::set<std::string>& booleans) {
  std::vector<std::string> raw;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() <= 2 || s.compare(0, 2, "--") != 0) continue;
    std::string flag = s.substr(2);
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      if (flag.compare(0, eq, name) == 0 && eq == name.size()) raw.push_back(flag.substr(eq + 1));
    } else if (!booleans.count(flag) && i + 1 < argv.size()) {
      if (flag == name) raw.push_back(argv[i + 1]);
      ++i;
    }
  }
  std::vector<std::string> out;
  for (const auto& r : raw) {
    size_t start = 0;
    while (start <= r.size()) {
      size_t comma = r.find(',', start);
      std::string item = r.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(std::move(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// The web UI: --web-root, $RUNICORN_WEB_ROOT, <prefix>/share/runicorn/web next to the binary,
// then the source tree's build output. None found: the built-in page.
std::optional<std::filesystem::path> FindWebRoot(const Args& args) {
  if (auto w = args.Get("web-root")) return std::filesystem::path(*w);
  if (const char* env = std::getenv("RUNICORN_WEB_ROOT"); env && *env) return std::filesystem::path(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "runicorn" / "web";
    if (std::filesystem::exists(installed / "index.html", ec)) return installed;
  }
  std::filesystem::path source(RUNICORN_WEB_SOURCE_DIR);
  if (!source.empty() && std::filesystem::exists(source / "index.html", ec)) return source;
  return std::nullopt;
}

}  // namespace

int RunViewer(const std::vector<std::string>& argv) {
  const std::set<std::string> booleans = {"insecure", "help"};
  auto args = Args::Parse(argv, booleans);
  if (!args.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n%s", args.status().message().c_str(), kUsage);
    return kExitUsage;
  }
  auto unknown = args->Unknown({"storage", "host", "port", "token", "token-file", "threads", "insecure",
                                "rate-limits", "web-root", "max-body", "max-connections", "allowed-origin",
                                "allowed-host", "trusted-proxy", "help", "tasks-root", "ingest-token-file",
                                "ingest-lease", "llm-service", "objects", "catalog", "replica-url", "task-workers"});
  if (args->Has("help") || !unknown.empty() || !args->positional().empty()) {
    if (!unknown.empty()) std::fprintf(stderr, "runicorn viewer: unknown option %s\n", unknown[0].c_str());
    std::fputs(kUsage, args->Has("help") ? stdout : stderr);
    return args->Has("help") ? kExitOk : kExitUsage;
  }

  server::ServerOptions sopts;
  sopts.host = args->Get("host").value_or("127.0.0.1");
  sopts.insecure = args->Has("insecure");
  auto int_opt = [&](const char* name, int64_t lo, int64_t hi, int64_t def) -> std::optional<int64_t> {
    auto v = args->Get(name);
    if (!v) return def;
    auto n = server::ParseInt64(*v);
    if (!n.ok() || *n < lo || *n > hi) {
      std::fprintf(stderr, "runicorn viewer: --%s must be an integer in [%lld, %lld]\n", name,
                   static_cast<long long>(lo), static_cast<long long>(hi));
      return std::nullopt;
    }
    return *n;
  };
  auto port = int_opt("port", 0, 65535, 23300);
  auto threads = int_opt("threads", 1, 256, std::clamp<int>(static_cast<int>(std::thread::hardware_concurrency()), 1, 4));
  auto max_body = int_opt("max-body", 1024, int64_t{1} << 32, 1 << 20);
  auto max_connections = int_opt("max-connections", 0, 1000000, 0);
  if (!port || !threads || !max_body || !max_connections) return kExitUsage;
  sopts.port = static_cast<uint16_t>(*port);
  sopts.threads = static_cast<int>(*threads);
  sopts.body_limit = static_cast<uint64_t>(*max_body);
  sopts.max_connections = static_cast<size_t>(*max_connections);

  server::ApiOptions aopts;
  if (args->Has("token") && args->Has("token-file")) {
    std::fprintf(stderr, "runicorn viewer: give either --token or --token-file, not both\n%s", kUsage);
    return kExitUsage;
  }
  if (auto file = args->Get("token-file")) {
    auto token = server::ReadTokenFile(*file);
    if (!token.ok()) {
      std::fprintf(stderr, "runicorn viewer: %s\n", token.status().message().c_str());
      return kExitUsage;
    }
    aopts.token = std::move(*token);
  } else if (auto token = args->Get("token")) {
    aopts.token = *token;
    std::fprintf(stderr,
                 "runicorn viewer: warning: a token given with --token is visible to every user of this machine "
                 "(ps, /proc); use --token-file FILE or RUNICORN_TOKEN instead\n");
  }
  if (aopts.token.empty())
    if (const char* env = std::getenv("RUNICORN_TOKEN"); env) aopts.token = env;
  // Journal shipping (docs/REMOTE.md "Auth"): a token for training nodes that may only ingest.
  if (auto file = args->Get("ingest-token-file")) {
    auto token = server::ReadTokenFile(*file);
    if (!token.ok()) {
      std::fprintf(stderr, "runicorn viewer: %s\n", token.status().message().c_str());
      return kExitUsage;
    }
    aopts.ingest_token = std::move(*token);
  }
  auto ingest_lease = int_opt("ingest-lease", 0, 7 * 24 * 3600, 300);
  // With --catalog: how many tasks this replica runs at once from the shared queue (Pyruns' pool size).
  auto task_workers = int_opt("task-workers", 1, 32, 1);
  if (!task_workers) return kExitUsage;
  if (!ingest_lease) return kExitUsage;

  server::OriginPolicyOptions origins;
  origins.allowed_origins = AllValues(argv, "allowed-origin", booleans);
  origins.allowed_hosts = AllValues(argv, "allowed-host", booleans);
  // A host name given to --host is one the viewer is meant to be reached by.
  if (!server::CanonicalIp(sopts.host)) origins.allowed_hosts.push_back(sopts.host);
  auto policy = server::OriginPolicy::Create(origins);
  if (!policy.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", policy.status().message().c_str());
    return kExitUsage;
  }
  aopts.origin_policy = std::move(*policy);
  auto proxies = server::ClientAddressResolver::Create(AllValues(argv, "trusted-proxy", booleans));
  if (!proxies.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", proxies.status().message().c_str());
    return kExitUsage;
  }
  aopts.client_addresses = std::move(*proxies);
  if (sopts.insecure)
    std::fprintf(stderr,
                 "runicorn viewer: WARNING: --insecure: %s\n",
                 aopts.token.empty()
                     ? "no token is required; on a non-loopback address anyone who can reach this port can read, "
                       "delete and restore runs and change settings"
                     : "a token is set, so --insecure changes nothing; drop it");
  if (auto file = args->Get("rate-limits")) {
    auto limits = server::RateLimitConfig::FromFile(*file);
    if (!limits.ok()) {
      std::fprintf(stderr, "runicorn viewer: %s\n", limits.status().message().c_str());
      return kExitUsage;
    }
    aopts.rate_limits = std::move(*limits);
  }
  aopts.web_root = FindWebRoot(*args);

  // Signals are taken synchronously by this thread (sigwait), so block them before any thread
  // starts: every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::filesystem::path root = ResolveStorage(*args);
  // --objects and --catalog (docs/SCALE-OUT.md): the team back end (team_backend.h). The bucket is
  // checked before anything starts; the catalog reads sealed segments its disk lacks from it, so
  // it is opened before the catalog.
  TeamBackendOptions team_options;
  team_options.catalog = args->Get("catalog");
  team_options.objects = args->Get("objects");
  auto team_opened = TeamBackend::Open(std::move(team_options));
  if (!team_opened.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", team_opened.status().message().c_str());
    return team_opened.status().code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  auto ctx = server::AppContext::Open(root, service::DefaultUserConfigFile(), (*team_opened)->segment_source());
  if (!ctx.ok()) {
    if (ctx.status().code() == runtrack::StatusCode::kBusy)
      std::fprintf(stderr, "runicorn: the catalog of %s is held by another process (is another `runicorn viewer` "
                           "running on it?)\n", root.string().c_str());
    else
      std::fprintf(stderr, "runicorn: cannot open store %s: %s\n", root.string().c_str(), ctx.status().ToString().c_str());
    return ExitCodeFor(ctx.status());
  }
  server::AppContext& context = **ctx;
  // Declared after the context, so on every return its publishers stop before the catalog closes.
  std::unique_ptr<TeamBackend> team = std::move(*team_opened);
  if (auto s = team->Attach(context); !s.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", s.message().c_str());
    return s.code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  std::shared_ptr<service::s3::FinishedRunSealer> finished_runs = team->finished_runs();
  context.services->ingest.SetLease(std::chrono::seconds(*ingest_lease));
  service::PeriodicPass bucket_release;  // with --replica-url and --objects: lets buckets go
  // --replica-url (docs/SCALE-OUT.md "Replicas"): this viewer is one of several on the --catalog
  // database; it appends only to runs it owns (a PostgreSQL advisory lock per run) and forwards the
  // ingest of other runs to their owner. The URL is where the other replicas reach this one.
  if (auto replica_url = args->Get("replica-url")) {
    auto address = server::ParseReplicaUrl(*replica_url);
    if (!address.ok() || !args->Get("catalog")) {
      std::fprintf(stderr, "runicorn viewer: %s\n",
                   address.ok() ? "--replica-url needs --catalog postgresql://... (replicas share its run ownership)"
                                : address.status().message().c_str());
      return kExitUsage;
    }
#ifdef RUNICORN_HAVE_PG
    auto ownership = service::pg::PgRunOwnership::Open({*args->Get("catalog"), *replica_url, ""});
    if (!ownership.ok()) {
      std::fprintf(stderr, "runicorn viewer: cannot take part in run ownership: %s\n",
                   ownership.status().message().c_str());
      return kExitError;
    }
    // A forward waits on an I/O thread; keeping one thread free of forwards means the requests
    // other replicas forward here are always served (ingest_forwarding.h, "Deadlock").
    sopts.threads = std::max(sopts.threads, 2);
    server::IngestForwardingOptions forwarding;
    forwarding.max_in_flight = static_cast<size_t>(sopts.threads - 1);
    std::printf("runicorn viewer: replica %s, reached at %s\n", (*ownership)->replica_id().c_str(),
                replica_url->c_str());
    std::shared_ptr<service::pg::PgRunOwnership> pg_owners(std::move(*ownership));
    std::shared_ptr<service::RunOwnership> owners = pg_owners;
    context.ingest_forwarding = std::make_shared<server::IngestForwarding>(owners, forwarding);
    // Buckets move to the replicas now preferred for them once nothing of theirs depends on this
    // disk (docs/SCALE-OUT.md "Rebalancing"); only with --objects, where finished runs are sealed
    // beyond this disk.
    if (finished_runs) {
      auto activity = std::make_shared<service::StoreRunActivity>(runtrack::StoreLayout(context.root), finished_runs);
      bucket_release.Start(std::chrono::seconds(5), [pg_owners, activity] {
        auto pass = pg_owners->ReleaseUnpreferred(*activity);
        if (pass.ok() && pass->released > 0)
          std::printf("runicorn viewer: released %zu run bucket(s) to the replicas now preferred for them\n",
                      pass->released);
        else if (!pass.ok())
          std::fprintf(stderr, "runicorn viewer: bucket release pass: %s\n", pass.status().message().c_str());
        std::fflush(stdout);
      });
    }
    // Reads of a live run another replica owns are answered there (read_forwarding.h). They wait on
    // a worker (headers) and then an I/O thread (the relayed body): one of each stays free for
    // the reads forwarded here.
    sopts.heavy_threads = std::max(sopts.heavy_threads, 2);
    server::ReadForwardingOptions reads;
    reads.max_in_flight = static_cast<size_t>(std::min(sopts.threads, sopts.heavy_threads) - 1);
    context.read_forwarding = std::make_shared<server::ReadForwarding>(owners, reads);
    // Streams of a live run follow it to a new owner (server/stream_following.h).
    context.read_forwarding->AttachLocalStreams(&context);
#endif
  }

  // The first index pass runs in the background: the viewer listens at once and serves what is
  // indexed so far (/api/health shows the progress); a failing pass degrades, never exits.
  server::Indexer indexer(context, std::chrono::milliseconds(250));
  indexer.StartInBackground();
  // A credential of this start for the CLI's commands on this store (it finds it in the store),
  // accepted beside --token: a local `runicorn runs list` works while the viewer holds the catalog.
  auto local_token = service::NewLocalToken();
  if (!local_token.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", local_token.status().message().c_str());
    return kExitError;
  }
  aopts.local_token = *local_token;
  // The task routes run commands, so they need a token even on loopback (as Jupyter does): the
  // --token when given, else one made for this start and printed below.
  if (aopts.token.empty()) {
    auto task_token = service::NewLocalToken();
    if (!task_token.ok()) {
      std::fprintf(stderr, "runicorn viewer: %s\n", task_token.status().message().c_str());
      return kExitError;
    }
    aopts.task_token = *task_token;
  }
  {
    // The task project is independent of the store: --tasks-root, else the working directory.
    service::TaskServiceOptions topts;
    std::error_code ec;
    topts.project_root = args->Get("tasks-root") ? std::filesystem::path(*args->Get("tasks-root"))
                                                 : std::filesystem::current_path(ec);
    topts.runicorn_dir = context.root;
    topts.shared_workers = static_cast<int>(*task_workers);
#ifdef RUNICORN_HAVE_PG
    // --catalog (docs/SCALE-OUT.md "Tasks on PostgreSQL"): every replica whose task workspace is
    // the same folder (a shared file system) takes tasks from one queue in PostgreSQL.
    if (auto conninfo = args->Get("catalog")) {
      auto queue = service::pg::PgTaskQueue::Open(*conninfo);
      if (!queue.ok()) {
        std::fprintf(stderr, "runicorn viewer: cannot use the PostgreSQL catalog: %s\n", queue.status().message().c_str());
        return kExitError;
      }
      std::shared_ptr<service::pg::PgTaskQueue> shared = std::move(*queue);
      topts.shared_queue = [shared](const runtrack::Workspace& ws)
          -> runtrack::Result<std::shared_ptr<runtrack::SharedTaskQueue>> {
        return std::shared_ptr<runtrack::SharedTaskQueue>(
            std::make_shared<service::pg::PgSharedTaskQueue>(shared, (ws.dir() / "tasks").lexically_normal().string()));
      };
    }
#endif
    // With --tasks-root the replica takes queued tasks from the start; otherwise (the working
    // directory, which may be anything) its runner starts at the first task request, as before.
    const bool shared_tasks = static_cast<bool>(topts.shared_queue) && args->Get("tasks-root");
    context.services->tasks = std::make_shared<service::TaskService>(std::move(topts));
    if (shared_tasks) {
      if (auto s = context.services->tasks->StartRunner(); !s.ok()) {
        std::fprintf(stderr, "runicorn viewer: cannot start the task runner: %s\n", s.message().c_str());
        return kExitError;
      }
    }
  }
  {
    // The training service API's trainer and generator (docs/API-v1.md); without the option its
    // jobs and models are still served, and train / generate answer 503.
    service::LlmServiceConfig llm;
    if (auto file = args->Get("llm-service")) {
      auto loaded = service::LoadLlmServiceConfig(*file);
      if (!loaded.ok()) {
        std::fprintf(stderr, "runicorn viewer: %s\n", loaded.status().message().c_str());
        return kExitUsage;
      }
      llm = std::move(*loaded);
    }
    // A generation holds a worker-pool thread while it runs or waits its turn (routes.cpp marks
    // /api/v1/generate heavy): the pool gets that many more, so metric reads keep theirs.
    sopts.heavy_threads += llm.generate_concurrency + llm.generate_queue;
    // --catalog (docs/SCALE-OUT.md "Training on the team back end"): datasets and models are the
    // team's (with --objects), and every replica answers every job through PostgreSQL's board.
    std::shared_ptr<service::TrainingJobBoard> training_board;
#ifdef RUNICORN_HAVE_PG
    if (auto conninfo = args->Get("catalog")) {
      // With --replica-url the board knows this replica by its run-ownership id, so the others
      // find its URL and read its jobs' logs here (server/training_log_forwarding.h).
      auto board = service::pg::PgTrainingJobs::Open(
          *conninfo, context.read_forwarding ? context.read_forwarding->replica_id() : std::string());
      if (!board.ok()) {
        std::fprintf(stderr, "runicorn viewer: cannot use the PostgreSQL catalog: %s\n", board.status().message().c_str());
        return kExitError;
      }
      training_board = std::move(*board);
      context.training_log_forwarding =
          std::make_shared<server::TrainingLogForwarding>(training_board, context.read_forwarding);
    }
#endif
    context.services->training = std::make_shared<service::TrainingService>(
        runtrack::StoreLayout(context.root), std::move(llm), context.services->runs,
        context.services->dataset_artifacts, std::move(training_board));
  }
  server::Api api(context, aopts);
  auto srv = server::HttpServer::Start(api, sopts, !aopts.token.empty());
  if (!srv.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n", srv.status().message().c_str());
    return srv.status().code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage : kExitError;
  }
  std::printf("runicorn viewer %s: serving %s on http://%s:%u (%d threads%s%s)\n", context.version.c_str(),
              context.root.string().c_str(), sopts.host.c_str(), (*srv)->port(), sopts.threads,
              aopts.token.empty() ? "" : ", token required",
              aopts.web_root ? (", web UI " + aopts.web_root->string()).c_str() : ", no web UI files");
  if (!aopts.task_token.empty())
    std::printf("runicorn viewer: tasks of %s need the token: http://%s:%u/?token=%s\n",
                context.services->tasks->project_root().string().c_str(), sopts.host.c_str(), (*srv)->port(),
                aopts.task_token.c_str());
  std::fflush(stdout);
  const runtrack::StoreLayout layout(context.root);
  const int64_t pid = ::getpid();
  if (auto s = service::WriteViewerEndpoint(layout, {sopts.host, (*srv)->port(), *local_token, pid}); !s.ok())
    std::fprintf(stderr, "runicorn viewer: CLI commands cannot reach this viewer: %s\n", s.message().c_str());

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("runicorn viewer: %s received, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  service::RemoveViewerEndpoint(layout, pid);
  (*srv)->Shutdown();
  (*srv)->Wait();
  srv->reset();
  indexer.Stop();
  bucket_release.Stop();
  team->Stop();
  ctx->reset();  // closes the catalog
  std::printf("runicorn viewer: stopped\n");
  return kExitOk;
}

}  // namespace runicorn::viewer
