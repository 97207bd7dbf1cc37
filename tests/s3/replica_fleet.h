// Real `runicorn viewer --replica-url` processes on one PostgreSQL database and a fresh bucket, for
// the tests that SIGKILL a replica (so each is a child started by Spawn, its PID kept). Replica i
// has its store in DIR/replica<i> and its output in DIR/replica<i>.log; whatever still runs at
// scope exit is SIGKILLed, so a failed REQUIRE leaves no viewer behind.
#pragma once

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "remote/fault_proxy.h"
#include "remote/processes.h"
#include "rgw_test_server.h"
#include "service/s3/s3_client.h"
#include "util/files.h"

namespace runicorn::testing {

// A file's bytes, or "<missing>" (for INFO lines and comparisons that must not throw).
inline std::string FileOrMissing(const std::filesystem::path& p) {
  auto r = runtrack::util::ReadFile(p);
  return r.ok() ? *r : std::string("<missing>");
}

// Polls `done` every 20 ms for up to `limit_ms`; its last answer.
template <typename F>
bool WaitFor(F done, int limit_ms) {
  for (int i = 0; i < limit_ms / 20; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

class ReplicaFleet {
 public:
  // Creates the bucket `bucket_tag`-PID and starts `n` replicas, each listening before this returns.
  ReplicaFleet(const std::filesystem::path& dir, const std::string& db, const std::string& endpoint,
               const std::string& bucket_tag, int n = 2)
      : dir_(dir), creds_{RgwTestServer::kAccessKey, RgwTestServer::kSecretKey, ""} {
    loc_.bucket = fmt::format("{}-{}", bucket_tag, ::getpid());
    loc_.prefix = "team";
    loc_.endpoint = endpoint;
    REQUIRE(service::s3::S3Client(loc_, creds_).CreateBucket().ok());
    objects_ = fmt::format("s3://{}/team?endpoint={}", loc_.bucket, endpoint);
    const std::map<std::string, std::string> env{{"HOME", dir.string()},
                                                 {"XDG_CONFIG_HOME", (dir / "config").string()},
                                                 {"RUNICORN_TOKEN", ""},
                                                 {"AWS_ACCESS_KEY_ID", creds_.access_key_id},
                                                 {"AWS_SECRET_ACCESS_KEY", creds_.secret_access_key}};
    for (int i = 0; i < n; ++i) {
      uint16_t port = 0;
      do port = FreePort();
      while (std::find(ports_.begin(), ports_.end(), port) != ports_.end());
      ports_.push_back(port);
      std::filesystem::create_directories(store(i) / "runs");
      pids_.push_back(Spawn({RUNICORN_BINARY, "viewer", "--storage", store(i).string(), "--port", std::to_string(port),
                             "--catalog", db, "--objects", objects_, "--replica-url", url(i)},
                            env, log(i).string()));
    }
    for (int i = 0; i < n; ++i) {
      INFO(FileOrMissing(log(i)));
      REQUIRE(WaitFor([&] { return Listening(ports_[i]); }, 60000));
    }
  }
  ~ReplicaFleet() {
    for (pid_t pid : pids_)
      if (pid > 0) Kill9(pid);
  }
  ReplicaFleet(const ReplicaFleet&) = delete;
  ReplicaFleet& operator=(const ReplicaFleet&) = delete;

  const service::s3::S3Location& location() const { return loc_; }
  const service::s3::S3Credentials& credentials() const { return creds_; }
  uint16_t port(int i) const { return ports_[i]; }
  std::string url(int i) const { return fmt::format("http://127.0.0.1:{}", ports_[i]); }
  std::filesystem::path store(int i) const { return dir_ / fmt::format("replica{}", i); }
  std::filesystem::path log(int i) const { return dir_ / fmt::format("replica{}.log", i); }

  // SIGKILL, as a crash.
  void Kill(int i) {
    Kill9(pids_[i]);
    pids_[i] = -1;
  }
  // SIGTERM; the exit code.
  int Stop(int i) {
    ::kill(pids_[i], SIGTERM);
    const int rc = WaitExit(pids_[i]);
    pids_[i] = -1;
    return rc;
  }

 private:
  std::filesystem::path dir_;
  service::s3::S3Location loc_;
  service::s3::S3Credentials creds_;
  std::string objects_;
  std::vector<uint16_t> ports_;
  std::vector<pid_t> pids_;
};

}  // namespace runicorn::testing
