// Per-user request limits of the training service API (/api/v1), as its seed specifies:
// training routes (/api/v1/train...) 10 per hour, inference (/api/v1/generate...) 60 per minute,
// everything else 120 per minute — each counted per user (the token's subject), or per client
// address for requests without a valid token (login, probing), in fixed windows.
//
// Separate from rate_limiter.h (per address and route class, for the other APIs): these limits
// protect the expensive training and inference work per account, whatever address it comes from.
//
// Thread safety: Check() may be called from any thread (one mutex; a check is a map lookup).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace runicorn::server {

enum class V1RateClass { kTraining, kInference, kOther };

// The class of a path under /api/v1 from its segments ("api", "v1", "train", ...).
V1RateClass V1RateClassFor(const std::vector<std::string>& segments);

class V1RateLimiter {
 public:
  struct Decision {
    bool allowed = true;
    uint32_t limit = 0;
    uint32_t remaining = 0;
    int64_t reset_at = 0;  // unix seconds when the window restarts (X-RateLimit-Reset)
  };
  // `now` returns unix seconds (a test clock; default: the system clock).
  explicit V1RateLimiter(std::function<int64_t()> now = {});

  static uint32_t LimitOf(V1RateClass c);
  static int64_t WindowOf(V1RateClass c);

  // Counts one request of `key` ("user:NAME" or "ip:ADDR") in class `c`.
  Decision Check(V1RateClass c, const std::string& key);

 private:
  struct Window {
    int64_t start = 0;
    uint32_t count = 0;
  };
  std::function<int64_t()> now_;
  std::mutex mu_;
  std::map<std::pair<int, std::string>, Window> windows_;
};

}  // namespace runicorn::server
