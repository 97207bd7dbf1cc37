#include "server/rate_limiter.h"

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

RateLimitConfig RateLimitConfig::Defaults() {
  // One generous limit for every class (Runicorn v0.5.3 ships 6,000 per minute): the web UI polls
  // several charts and lists per tab, and a person may keep several tabs open, so Runicorn's
  // documented 60/min would answer a single user 429. The limits are a brake on runaway scripts;
  // stricter ones are a --rate-limits file away.
  RateLimitConfig c;
  c.default_limit = {6000, 60};
  return c;
}

namespace {

Result<RateLimit> ParseLimit(const boost::json::value& v, const RateLimit& base, std::string_view where) {
  RateLimit out = base;
  auto as_u32 = [&](const boost::json::value& x, std::string_view field) -> Result<uint32_t> {
    if (x.is_int64() && x.get_int64() >= 1 && x.get_int64() <= 100000000) return static_cast<uint32_t>(x.get_int64());
    if (x.is_uint64() && x.get_uint64() >= 1 && x.get_uint64() <= 100000000) return static_cast<uint32_t>(x.get_uint64());
    return Status::InvalidArgument(fmt::format("rate limits: {}.{} must be an integer in [1, 100000000]", where, field));
  };
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (kv.key() == "limit") {
        RUNTRACK_ASSIGN_OR_RETURN(out.limit, as_u32(kv.value(), "limit"));
      } else if (kv.key() == "window_seconds") {
        RUNTRACK_ASSIGN_OR_RETURN(out.window_seconds, as_u32(kv.value(), "window_seconds"));
      } else {
        return Status::InvalidArgument(fmt::format("rate limits: unknown field {}.{}", where, std::string(kv.key())));
      }
    }
    return out;
  }
  RUNTRACK_ASSIGN_OR_RETURN(out.limit, as_u32(v, "limit"));
  return out;
}

}  // namespace

Result<RateLimitConfig> RateLimitConfig::FromJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value doc = runtrack::ParseJson(text, ec);
  if (ec || !doc.is_object()) return Status::InvalidArgument("rate limits: the file must hold a JSON object");
  RateLimitConfig c = Defaults();
  const auto& o = doc.get_object();
  uint32_t window = 60;
  if (const auto* w = o.if_contains("window_seconds")) {
    RUNTRACK_ASSIGN_OR_RETURN(RateLimit r, ParseLimit(boost::json::object{{"window_seconds", *w}}, {}, "root"));
    window = r.window_seconds;
    c.default_limit.window_seconds = window;
    for (auto& [name, limit] : c.classes) limit.window_seconds = window;
  }
  for (const auto& kv : o) {
    std::string_view key = kv.key();
    if (key == "window_seconds") continue;
    if (key == "enabled") {
      if (!kv.value().is_bool()) return Status::InvalidArgument("rate limits: enabled must be true or false");
      c.enabled = kv.value().get_bool();
    } else if (key == "default") {
      RUNTRACK_ASSIGN_OR_RETURN(c.default_limit, ParseLimit(kv.value(), c.default_limit, "default"));
    } else if (key == "classes") {
      if (!kv.value().is_object()) return Status::InvalidArgument("rate limits: classes must be an object");
      for (const auto& cls : kv.value().get_object()) {
        auto it = c.classes.find(std::string_view(cls.key()));
        RateLimit base = it == c.classes.end() ? RateLimit{c.default_limit.limit, window} : it->second;
        RUNTRACK_ASSIGN_OR_RETURN(RateLimit r, ParseLimit(cls.value(), base, cls.key()));
        c.classes[std::string(cls.key())] = r;
      }
    } else {
      return Status::InvalidArgument(fmt::format("rate limits: unknown field '{}'", key));
    }
  }
  return c;
}

Result<RateLimitConfig> RateLimitConfig::FromFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("rate limits file {} cannot be read", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return FromJson(ss.str());
}

const RateLimit& RateLimitConfig::For(std::string_view rate_class) const {
  auto it = classes.find(rate_class);
  return it == classes.end() ? default_limit : it->second;
}

RateLimiter::Decision RateLimiter::Check(std::string_view rate_class, std::string_view client,
                                         std::chrono::steady_clock::time_point now) {
  Decision d;
  if (!config_.enabled) return d;
  const RateLimit& rl = config_.For(rate_class);
  std::string key;
  key.reserve(rate_class.size() + client.size() + 1);
  key.append(rate_class).push_back('\0');
  key.append(client);
  Shard& shard = shards_[std::hash<std::string>()(key) % shards_.size()];
  const auto window = std::chrono::seconds(rl.window_seconds);
  std::lock_guard lock(shard.mu);
  // Bounded memory under many clients: forget every expired window once the map grows large.
  if (shard.windows.size() > 4096) {
    for (auto it = shard.windows.begin(); it != shard.windows.end();)
      it = now - it->second.start >= window ? shard.windows.erase(it) : std::next(it);
  }
  Window& w = shard.windows[key];
  if (w.count == 0 || now - w.start >= window) {
    w.start = now;
    w.count = 0;
  }
  d.limited = true;
  d.limit = rl.limit;
  auto left = std::chrono::ceil<std::chrono::seconds>(w.start + window - now).count();
  d.reset_seconds = static_cast<uint32_t>(std::max<int64_t>(1, left));
  if (w.count >= rl.limit) {
    d.allowed = false;
    d.remaining = 0;
    return d;
  }
  ++w.count;
  d.remaining = rl.limit - w.count;
  return d;
}

}  // namespace runicorn::server
