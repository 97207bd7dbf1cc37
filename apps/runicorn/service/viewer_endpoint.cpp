#include "service/viewer_endpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>

namespace runicorn::service {
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

Result<std::string> NewLocalToken() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Status::Internal("no random bytes for a local token");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

Status WriteViewerEndpoint(const runtrack::StoreLayout& layout, const ViewerEndpoint& e) {
  const std::string text = bj::serialize(bj::object{{"url", fmt::format("http://{}:{}", e.host, e.port)},
                                                    {"host", e.host},
                                                    {"port", e.port},
                                                    {"token", e.token},
                                                    {"pid", e.pid}});
  const auto path = layout.viewer_endpoint_path();
  auto tmp = path;
  tmp += fmt::format(".{}.tmp", ::getpid());
  // Created 0600 from the start: the token is never readable by others, not even briefly.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(fmt::format("create {}: {}", tmp.string(), std::strerror(errno)));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(fmt::format("write {}: {}", path.string(), std::strerror(errno)));
  }
  return Status::Ok();
}

Result<ViewerEndpoint> ReadViewerEndpoint(const runtrack::StoreLayout& layout) {
  std::ifstream in(layout.viewer_endpoint_path());
  if (!in) return Status::NotFound("no running viewer has announced itself for this store");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  const bj::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr || !o->contains("host") || !o->contains("port") || !o->contains("token") || !o->contains("pid") ||
      !o->at("host").is_string() || !o->at("port").is_int64() || !o->at("token").is_string() || !o->at("pid").is_int64())
    return Status::Corruption(fmt::format("{} is not a viewer endpoint file", layout.viewer_endpoint_path().string()));
  ViewerEndpoint e;
  e.host = std::string(o->at("host").as_string());
  e.port = static_cast<uint16_t>(o->at("port").as_int64());
  e.token = std::string(o->at("token").as_string());
  e.pid = o->at("pid").as_int64();
  // A viewer killed without cleaning up leaves its file behind; its pid is then gone.
  if (e.pid <= 0 || (::kill(static_cast<pid_t>(e.pid), 0) != 0 && errno == ESRCH))
    return Status::NotFound("the viewer that announced itself for this store is no longer running");
  return e;
}

void RemoveViewerEndpoint(const runtrack::StoreLayout& layout, int64_t pid) {
  auto current = ReadViewerEndpoint(layout);
  if (current.ok() && current->pid != pid) return;
  std::error_code ec;
  std::filesystem::remove(layout.viewer_endpoint_path(), ec);
}

}  // namespace runicorn::service
