#include "server/v1_rate_limits.h"

#include <chrono>

namespace runicorn::server {

V1RateClass V1RateClassFor(const std::vector<std::string>& segments) {
  // Starting a job is the training class (10/hour); its status and cancel routes are not, or a
  // client polling a job's progress would run out of requests after ten polls.
  if (segments.size() == 3 && segments[2] == "train") return V1RateClass::kTraining;
  if (segments.size() >= 3 && segments[2] == "generate") return V1RateClass::kInference;
  return V1RateClass::kOther;
}

V1RateLimiter::V1RateLimiter(std::function<int64_t()> now) : now_(std::move(now)) {
  if (!now_)
    now_ = [] {
      return static_cast<int64_t>(
          std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    };
}

uint32_t V1RateLimiter::LimitOf(V1RateClass c) {
  switch (c) {
    case V1RateClass::kTraining: return 10;
    case V1RateClass::kInference: return 60;
    case V1RateClass::kOther: return 120;
  }
  return 120;
}

int64_t V1RateLimiter::WindowOf(V1RateClass c) { return c == V1RateClass::kTraining ? 3600 : 60; }

V1RateLimiter::Decision V1RateLimiter::Check(V1RateClass c, const std::string& key) {
  const int64_t now = now_();
  const uint32_t limit = LimitOf(c);
  const int64_t window = WindowOf(c);
  std::lock_guard<std::mutex> lock(mu_);
  // Windows that ended are dropped once the table grows, so many addresses cannot grow it forever.
  if (windows_.size() > 10000)
    for (auto it = windows_.begin(); it != windows_.end();)
      it = now - it->second.start >= WindowOf(static_cast<V1RateClass>(it->first.first)) ? windows_.erase(it) : std::next(it);
  Window& w = windows_[{static_cast<int>(c), key}];
  if (w.count == 0 || now - w.start >= window) {
    w.start = now;
    w.count = 0;
  }
  Decision d;
  d.limit = limit;
  d.reset_at = w.start + window;
  if (w.count >= limit) {
    d.allowed = false;
    d.remaining = 0;
    return d;
  }
  ++w.count;
  d.remaining = limit - w.count;
  return d;
}

}  // namespace runicorn::server
