// Which Host names and which browser origins the viewer answers: the defence against pages the
// user visits (cross-site request forgery) and against DNS rebinding.
//
// - Host: a request is served only when its Host header names a loopback host ("localhost",
//   "*.localhost", 127.0.0.0/8, ::1), the address the connection arrived at, or a configured name
//   (`--allowed-host`; "*" turns the check off, e.g. behind a proxy that rewrites Host). A page on
//   evil.example whose name was re-pointed to 127.0.0.1 still sends "Host: evil.example", so it is
//   refused. The port in Host is not checked (proxies may change it).
// - Origin: same-origin means the Origin's scheme://host:port equals "http://" + the (validated)
//   Host, default ports filled in. Other origins are accepted only when allow-listed
//   (`--allowed-origin`, exact match, empty by default); only those get CORS headers.
//
// Thread safety: immutable after Create(); every method may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::server {

struct OriginPolicyOptions {
  std::vector<std::string> allowed_origins;  // "https://dash.example.com:8443"; no wildcard
  std::vector<std::string> allowed_hosts;    // extra Host names or addresses; "*" accepts any
};

// "scheme://host:port", lower-case, the port always written (80/443 filled in), IPv6 in brackets;
// nullopt unless `origin` is an http(s) origin without path, query or credentials.
std::optional<std::string> NormalizeOrigin(std::string_view origin);

class OriginPolicy {
 public:
  OriginPolicy() = default;  // loopback hosts only, no allow-listed origins
  // InvalidArgument naming the first malformed entry ("*" is refused as an origin: CORS for every
  // site is what this policy exists to prevent).
  static runtrack::Result<OriginPolicy> Create(const OriginPolicyOptions& options);

  enum class HostVerdict { kAllowed, kMissing, kMalformed, kRefused };
  // `local_ip` is the address the connection was accepted on (empty: unknown).
  HostVerdict CheckHost(std::string_view host_header, std::string_view local_ip) const;

  enum class OriginVerdict { kAbsent, kSameOrigin, kAllowListed, kRefused };
  // `host_header` must already have passed CheckHost. "null" and malformed origins are refused.
  OriginVerdict CheckOrigin(std::string_view origin_header, std::string_view host_header) const;

 private:
  std::vector<std::string> allowed_origins_;  // normalized
  std::vector<std::string> allowed_hosts_;    // lower-case, IPs in canonical form
  bool any_host_ = false;
};

}  // namespace runicorn::server
