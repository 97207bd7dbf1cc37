// HttpServer: Boost.Beast over Asio in the shape of Beast's advanced server example — one
// listener accepting connections, one session per connection (HTTP keep-alive, optional upgrade to
// a WebSocket session), every limit and timeout set in ServerOptions, a pool of threads running
// one io_context. Sessions only turn bytes into a Request, call Api::Handle and write the Response.
//
// File descriptors: connections are capped (ServerOptions::max_connections); when accept() still
// fails for lack of descriptors (EMFILE/ENFILE), the listener closes idle connections and retries
// after a growing pause (10 ms .. 1 s) instead of retrying at once, which would spin a core.
//
// Heavy queries (routes marked heavy: metric reads, exports) are not run on the I/O threads but on
// a separate pool of `heavy_threads` workers; the connection waits for the answer without holding
// an I/O thread, so /api/health and light requests keep being answered while big queries run, and
// at most heavy_threads of them are being computed at once (the others queue), which bounds the
// memory they take together.
//
// WebSocket streams hold at most one poll's output per connection (streams.h); a client that
// takes nothing for `stream_stall_timeout` while a message waits is dropped.
//
// Shutdown() is graceful: the acceptor closes, idle keep-alive connections are closed, requests in
// flight finish and are answered with "Connection: close", WebSockets get a close frame; after
// `drain_timeout` whatever is left is cut. The caller then stops the indexer and closes the catalog.
//
// Thread safety: Start/Shutdown/Wait from one controlling thread; everything else runs on the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "runtrack/status.h"
#include "server/api.h"

namespace runicorn::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 23300;                    // 0: an ephemeral port (tests)
  int threads = 2;
  uint64_t body_limit = 1u << 20;           // bytes; larger bodies get 413
  uint32_t header_limit = 16u << 10;        // bytes; larger headers get 431
  std::chrono::seconds read_timeout{30};    // a request must arrive within this
  std::chrono::seconds idle_timeout{60};    // keep-alive connections idle longer are closed
  std::chrono::milliseconds stream_poll{100};  // WebSocket sources are polled this often
  std::chrono::seconds stream_stall_timeout{30};  // a WebSocket client reading nothing this long is dropped
  int heavy_threads = 2;                    // workers for heavy queries (at least 1)
  std::chrono::seconds drain_timeout{5};
  bool insecure = false;                    // allow a non-loopback bind without a token
  // Connections held open at once (HTTP and WebSocket). At the limit the listener stops accepting
  // and closes the connections idle the longest to make room; a connection in the middle of a
  // request is never cut. 0: half the process's RLIMIT_NOFILE soft limit, within [16, 4096], so
  // the indexer and the catalog always keep descriptors.
  size_t max_connections = 0;
};

// The connection limit `options` asks for, with 0 resolved as described in ServerOptions.
size_t EffectiveMaxConnections(const ServerOptions& options);

class HttpServer {
 public:
  // Binds and starts serving. InvalidArgument for a non-loopback host without a token unless
  // options.insecure; IOError when the address cannot be bound.
  static runtrack::Result<std::unique_ptr<HttpServer>> Start(const Api& api, const ServerOptions& options,
                                                             bool has_token);
  ~HttpServer();

  uint16_t port() const;
  // Begins a graceful shutdown and returns at once (safe from a signal-handling callback).
  void Shutdown();
  // Blocks until every pool thread has returned (after Shutdown, within drain_timeout).
  void Wait();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace runicorn::server
