#include "service/s3/s3_location.h"

#include <fmt/format.h>

namespace runicorn::service::s3 {
namespace {

using runtrack::Result;
using runtrack::Status;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsPrefixChar(char c) {
  return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
}

Status ValidateBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63)
    return Status::InvalidArgument(fmt::format("--objects: bucket name must be 3..63 characters, got {}", b.size()));
  for (char c : b)
    if (!IsLowerAlnum(c) && c != '.' && c != '-')
      return Status::InvalidArgument("--objects: bucket name may hold only a-z, 0-9, '.' and '-'");
  if (!IsLowerAlnum(b.front()) || !IsLowerAlnum(b.back()))
    return Status::InvalidArgument("--objects: bucket name must start and end with a letter or digit");
  if (b.find("..") != std::string_view::npos)
    return Status::InvalidArgument("--objects: bucket name may not contain \"..\"");
  return Status::Ok();
}

// Prefix segments are restricted so a key needs no escaping and cannot walk out of the prefix.
Status ValidatePrefix(std::string_view p) {
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view seg = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..")
      return Status::InvalidArgument("--objects: the prefix has an empty, \".\" or \"..\" segment");
    for (char c : seg)
      if (!IsPrefixChar(c))
        return Status::InvalidArgument("--objects: the prefix may hold only A-Z, a-z, 0-9, '.', '_', '-' and '/'");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

Status ValidateEndpoint(std::string_view e) {
  std::string_view rest;
  if (e.rfind("http://", 0) == 0) rest = e.substr(7);
  else if (e.rfind("https://", 0) == 0) rest = e.substr(8);
  else return Status::InvalidArgument("--objects: endpoint must start with http:// or https://");
  if (rest.empty()) return Status::InvalidArgument("--objects: endpoint has no host");
  for (char c : rest) {
    bool ok = IsPrefixChar(c) || c == ':' || c == '[' || c == ']';
    if (!ok)
      return Status::InvalidArgument(
          "--objects: endpoint must be scheme://host[:port] without a path, query or user info");
  }
  return Status::Ok();
}

}  // namespace

std::string S3Location::Key(std::string_view key) const {
  return prefix.empty() ? std::string(key) : fmt::format("{}/{}", prefix, key);
}

Result<S3Location> ParseS3Url(std::string_view url) {
  if (url.rfind("s3://", 0) != 0) return Status::InvalidArgument("--objects: expected s3://bucket[/prefix][?endpoint=...&region=...]");
  std::string_view rest = url.substr(5);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Location loc;
  size_t slash = rest.find('/');
  loc.bucket = std::string(rest.substr(0, slash));
  RUNTRACK_RETURN_IF_ERROR(ValidateBucket(loc.bucket));
  if (slash != std::string_view::npos) {
    std::string_view prefix = rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
    if (!prefix.empty()) {
      RUNTRACK_RETURN_IF_ERROR(ValidatePrefix(prefix));
      loc.prefix = std::string(prefix);
    }
  }
  bool have_endpoint = false, have_region = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (name == "endpoint" && !have_endpoint) {
      while (!value.empty() && value.back() == '/') value.remove_suffix(1);
      RUNTRACK_RETURN_IF_ERROR(ValidateEndpoint(value));
      loc.endpoint = std::string(value);
      have_endpoint = true;
    } else if (name == "region" && !have_region) {
      if (value.empty() || value.size() > 32)
        return Status::InvalidArgument("--objects: region must be 1..32 characters");
      for (char c : value)
        if (!IsLowerAlnum(c) && c != '-') return Status::InvalidArgument("--objects: region may hold only a-z, 0-9 and '-'");
      loc.region = std::string(value);
      have_region = true;
    } else if (name == "endpoint" || name == "region") {
      return Status::InvalidArgument(fmt::format("--objects: {} given twice", name));
    } else {
      return Status::InvalidArgument(
          fmt::format("--objects: unknown parameter \"{}\" (known: endpoint, region; credentials come from "
                      "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a credentials file, never the URL)",
                      name.substr(0, 40)));
    }
  }
  if (!have_endpoint) loc.endpoint = fmt::format("https://s3.{}.amazonaws.com", loc.region);
  return loc;
}

}  // namespace runicorn::service::s3
