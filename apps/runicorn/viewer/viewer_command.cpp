// `runicorn viewer`: serves one store over HTTP/WebSocket and indexes it continuously.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "cli/cli.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/indexer.h"
#include "server/params.h"

#ifndef RUNICORN_WEB_SOURCE_DIR
#define RUNICORN_WEB_SOURCE_DIR ""
#endif

namespace runicorn::cli {
namespace {

constexpr const char* kUsage =
    "usage: runicorn viewer [--storage DIR] [--host 127.0.0.1] [--port 23300] [--token T]\n"
    "                       [--threads N] [--insecure] [--rate-limits FILE] [--web-root DIR]\n"
    "                       [--max-body BYTES]\n";

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
  auto args = Args::Parse(argv, {"insecure", "help"});
  if (!args.ok()) {
    std::fprintf(stderr, "runicorn viewer: %s\n%s", args.status().message().c_str(), kUsage);
    return kExitUsage;
  }
  auto unknown = args->Unknown({"storage", "host", "port", "token", "threads", "insecure", "rate-limits",
                                "web-root", "max-body", "help"});
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
  if (!port || !threads || !max_body) return kExitUsage;
  sopts.port = static_cast<uint16_t>(*port);
  sopts.threads = static_cast<int>(*threads);
  sopts.body_limit = static_cast<uint64_t>(*max_body);

  server::ApiOptions aopts;
  aopts.token = args->Get("token").value_or("");
  if (aopts.token.empty())
    if (const char* env = std::getenv("RUNICORN_TOKEN"); env) aopts.token = env;
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

  int code = kExitOk;
  auto ctx = OpenStore(*args, &code);
  if (!ctx.ok()) return code;
  server::AppContext& context = **ctx;

  server::Indexer indexer(context, std::chrono::milliseconds(250));
  if (auto s = indexer.Start(); !s.ok()) {
    std::fprintf(stderr, "runicorn viewer: indexing failed: %s\n", s.ToString().c_str());
    return ExitCodeFor(s);
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
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("runicorn viewer: %s received, finishing requests in flight\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*srv)->Shutdown();
  (*srv)->Wait();
  srv->reset();
  indexer.Stop();
  ctx->reset();  // closes the catalog
  std::printf("runicorn viewer: stopped\n");
  return kExitOk;
}

}  // namespace runicorn::cli
