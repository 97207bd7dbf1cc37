// Per-client, per-route-class request limits (fixed windows), as Runicorn's viewer does them.
//
// Every /api/ response carries X-RateLimit-Limit / -Remaining / -Reset (seconds until the window
// restarts); a request over the limit gets 429 with Retry-After. The default is 6,000 requests per
// minute per class and client (Runicorn v0.5.3's shipped value), so one person's web UI — several
// tabs polling charts — never sees a 429; a JSON file given to `runicorn viewer --rate-limits FILE`
// sets other limits (class names are in server/routes.cpp; "" is the class of unknown routes):
//
//   {"enabled": true, "window_seconds": 60, "default": 600,
//    "classes": {"recycle_empty": 5, "metrics": {"limit": 6000, "window_seconds": 60}}}
//
// The client is the peer address, or with --trusted-proxy the forwarded address
// (client_address.h).
//
// Thread safety: Check() may be called from any thread (one mutex per shard of clients).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <array>

#include "runtrack/status.h"

namespace runicorn::server {

struct RateLimit {
  uint32_t limit = 6000;
  uint32_t window_seconds = 60;
};

struct RateLimitConfig {
  bool enabled = true;
  RateLimit default_limit;
  std::map<std::string, RateLimit, std::less<>> classes;

  // 6,000 per minute for every class (see above).
  static RateLimitConfig Defaults();
  // Defaults overridden by the JSON document in `path`; InvalidArgument names the bad field.
  static runtrack::Result<RateLimitConfig> FromFile(const std::filesystem::path& path);
  static runtrack::Result<RateLimitConfig> FromJson(std::string_view text);
  const RateLimit& For(std::string_view rate_class) const;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitConfig config) : config_(std::move(config)) {}

  struct Decision {
    bool allowed = true;
    bool limited = false;        // false when limiting is disabled: no headers then
    uint32_t limit = 0;
    uint32_t remaining = 0;
    uint32_t reset_seconds = 0;  // until the current window ends (>= 1)
  };
  // Counts one request of `client` in `rate_class` at `now` and says whether it may proceed.
  Decision Check(std::string_view rate_class, std::string_view client,
                 std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  const RateLimitConfig& config() const { return config_; }

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    uint32_t count = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Window> windows;  // key: class + '\0' + client
  };
  RateLimitConfig config_;
  std::array<Shard, 16> shards_;
};

}  // namespace runicorn::server
