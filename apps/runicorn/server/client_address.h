// The client address the viewer keys rate limits on.
//
// By default that is the peer address of the TCP connection: headers are written by the client and
// prove nothing. Behind a reverse proxy every request comes from the proxy, so the operator may
// name the proxies (`--trusted-proxy ADDR`, repeatable); a request whose peer is one of them is
// keyed on the right-most X-Forwarded-For entry that is not itself a trusted proxy (entries left of
// it were written by the client and could be anything). A header that does not parse as a list of
// IP addresses is ignored and the peer is used.
//
// Thread safety: immutable after Create(); Resolve() may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::server {

// The canonical text of an IP address ("::ffff:10.0.0.1" becomes "10.0.0.1"; IPv6 lower-case,
// compressed); nullopt when `text` is not an IP address.
std::optional<std::string> CanonicalIp(std::string_view text);

class ClientAddressResolver {
 public:
  ClientAddressResolver() = default;  // no trusted proxies: always the peer address
  // InvalidArgument when an entry is not an IP address.
  static runtrack::Result<ClientAddressResolver> Create(const std::vector<std::string>& trusted_proxies);

  // `peer_ip` as the socket reports it; `forwarded_for` the raw X-Forwarded-For value (may be empty).
  std::string Resolve(std::string_view peer_ip, std::string_view forwarded_for) const;

  bool has_trusted_proxies() const { return !trusted_.empty(); }

 private:
  bool IsTrusted(std::string_view canonical_ip) const;
  std::vector<std::string> trusted_;  // canonical
};

}  // namespace runicorn::server
