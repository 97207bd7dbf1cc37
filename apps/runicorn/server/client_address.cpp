#include "server/client_address.h"

#include <algorithm>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace runicorn::server {

std::optional<std::string> CanonicalIp(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6()).to_string();
  return address.to_string();
}

runtrack::Result<ClientAddressResolver> ClientAddressResolver::Create(const std::vector<std::string>& trusted_proxies) {
  ClientAddressResolver r;
  for (const auto& entry : trusted_proxies) {
    auto ip = CanonicalIp(entry);
    if (!ip)
      return runtrack::Status::InvalidArgument(
          fmt::format("trusted proxy '{}' is not an IP address (give the proxy's address, e.g. 127.0.0.1)", entry));
    r.trusted_.push_back(std::move(*ip));
  }
  return r;
}

bool ClientAddressResolver::IsTrusted(std::string_view canonical_ip) const {
  return std::find(trusted_.begin(), trusted_.end(), canonical_ip) != trusted_.end();
}

std::string ClientAddressResolver::Resolve(std::string_view peer_ip, std::string_view forwarded_for) const {
  std::string peer = CanonicalIp(peer_ip).value_or(std::string(peer_ip));
  if (trusted_.empty() || forwarded_for.empty() || !IsTrusted(peer)) return peer;
  // Walk from the right: each hop appended the address it received the request from.
  std::vector<std::string> hops;
  size_t start = 0;
  while (start <= forwarded_for.size()) {
    size_t comma = forwarded_for.find(',', start);
    std::string_view item =
        forwarded_for.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    auto ip = CanonicalIp(item);
    if (!ip) return peer;  // not a list of addresses: trust none of it
    hops.push_back(std::move(*ip));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (auto it = hops.rbegin(); it != hops.rend(); ++it)
    if (!IsTrusted(*it)) return *it;
  return hops.empty() ? peer : hops.front();  // every hop is a trusted proxy: the first one is the origin
}

}  // namespace runicorn::server
