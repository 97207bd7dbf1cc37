#include "server/origin_policy.h"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include "server/client_address.h"

namespace runicorn::server {
namespace {

struct HostPort {
  std::string host;  // lower-case; IPv6 without brackets
  bool ipv6 = false;
  std::optional<uint16_t> port;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// "name", "name:port", "1.2.3.4:port", "[::1]:port" (the authority of a URL, without userinfo).
std::optional<HostPort> ParseHostPort(std::string_view s) {
  HostPort out;
  std::string_view rest;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto ip = CanonicalIp(s.substr(1, close - 1));
    if (!ip || ip->find(':') == std::string::npos) return std::nullopt;
    out.host = *ip;
    out.ipv6 = true;
    rest = s.substr(close + 1);
  } else {
    size_t colon = s.find(':');
    out.host = Lower(s.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
    if (out.host.empty() || out.host.size() > 253 || !std::all_of(out.host.begin(), out.host.end(), IsNameChar))
      return std::nullopt;
    if (out.host.back() == '.') out.host.pop_back();  // "localhost." is "localhost"
    if (out.host.empty()) return std::nullopt;
  }
  if (!rest.empty()) {
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return std::nullopt;
    uint32_t port = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

std::string Authority(const HostPort& hp, uint16_t default_port) {
  return fmt::format("{}{}{}:{}", hp.ipv6 ? "[" : "", hp.host, hp.ipv6 ? "]" : "", hp.port.value_or(default_port));
}

bool IsLoopbackHost(const HostPort& hp) {
  if (hp.host == "localhost" || (hp.host.size() > 10 && hp.host.ends_with(".localhost"))) return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(hp.host, ec);
  return !ec && address.is_loopback();
}

}  // namespace

std::optional<std::string> NormalizeOrigin(std::string_view origin) {
  if (origin.size() > 300) return std::nullopt;
  std::string lower = Lower(origin);
  std::string_view o = lower;
  uint16_t default_port = 0;
  if (o.starts_with("http://")) {
    default_port = 80;
  } else if (o.starts_with("https://")) {
    default_port = 443;
  } else {
    return std::nullopt;
  }
  std::string_view scheme = o.substr(0, o.find(':'));
  std::string_view authority = o.substr(scheme.size() + 3);
  if (authority.ends_with('/')) authority.remove_suffix(1);  // allow-list entries copied from a URL bar
  if (authority.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  auto hp = ParseHostPort(authority);
  if (!hp) return std::nullopt;
  return fmt::format("{}://{}", scheme, Authority(*hp, default_port));
}

runtrack::Result<OriginPolicy> OriginPolicy::Create(const OriginPolicyOptions& options) {
  OriginPolicy p;
  for (const auto& entry : options.allowed_origins) {
    auto normalized = NormalizeOrigin(entry);
    if (!normalized)
      return runtrack::Status::InvalidArgument(fmt::format(
          "allowed origin '{}' is not an origin: write scheme://host[:port], e.g. https://dash.example.com "
          "(no wildcard, no path)",
          entry));
    p.allowed_origins_.push_back(std::move(*normalized));
  }
  for (const auto& entry : options.allowed_hosts) {
    if (entry == "*") {
      p.any_host_ = true;
      continue;
    }
    auto hp = ParseHostPort(entry);
    if (!hp || hp->port)
      return runtrack::Status::InvalidArgument(fmt::format(
          "allowed host '{}' is not a host name or address (give the name only, without scheme or port)", entry));
    p.allowed_hosts_.push_back(std::move(hp->host));
  }
  return p;
}

OriginPolicy::HostVerdict OriginPolicy::CheckHost(std::string_view host_header, std::string_view local_ip) const {
  if (host_header.empty()) return HostVerdict::kMissing;
  auto hp = ParseHostPort(host_header);
  if (!hp) return HostVerdict::kMalformed;
  if (any_host_ || IsLoopbackHost(*hp)) return HostVerdict::kAllowed;
  if (std::find(allowed_hosts_.begin(), allowed_hosts_.end(), hp->host) != allowed_hosts_.end())
    return HostVerdict::kAllowed;
  // The address the client connected to: DNS rebinding always arrives with a name, never with the
  // server's own address literal.
  if (!local_ip.empty()) {
    auto local = CanonicalIp(local_ip);
    if (local && *local == hp->host) return HostVerdict::kAllowed;
  }
  return HostVerdict::kRefused;
}

OriginPolicy::OriginVerdict OriginPolicy::CheckOrigin(std::string_view origin_header, std::string_view host_header) const {
  if (origin_header.empty()) return OriginVerdict::kAbsent;
  auto origin = NormalizeOrigin(origin_header);
  if (!origin) return OriginVerdict::kRefused;  // includes "null" (sandboxed frames, file: pages)
  if (auto hp = ParseHostPort(host_header); hp && *origin == "http://" + Authority(*hp, 80))
    return OriginVerdict::kSameOrigin;
  if (std::find(allowed_origins_.begin(), allowed_origins_.end(), *origin) != allowed_origins_.end())
    return OriginVerdict::kAllowListed;
  return OriginVerdict::kRefused;
}

}  // namespace runicorn::server
