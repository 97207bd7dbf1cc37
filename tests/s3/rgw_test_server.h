// A private S3 server for tests: a one-node Ceph cluster (mon + bluestore OSD on a sparse file)
// and a RADOS gateway on a loopback port, in a temporary folder (tests/s3/rgw-start.sh, the
// notes' measured recipe: ~19 s to the first HTTP 200). Shared() is the one a test program uses:
// under ctest, the run's shared server (shared_test_servers.h: started once by a fixture, each case
// in buckets of its own); otherwise one started for this program and stopped by PID when it exits.
// Ports are chosen from the PID so parallel programs do not meet, below the ephemeral port range,
// and a start that fails is retried on other ports.
//
// Why Ceph RGW and not a lighter server: MinIO, SeaweedFS and Garage are not in Debian 12, and
// RGW is a production S3 implementation with real SigV4 checking; a fake would not catch a
// signing mistake.
//
// When radosgw is not installed, available() is false and RUNICORN_S3_TEST_SERVER() skips the
// test case with a warning naming the packages; with RUNICORN_REQUIRE_S3=1 it fails instead.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "../shared_test_servers.h"

namespace runicorn::testing {

class RgwTestServer {
 public:
  static constexpr const char* kAccessKey = "RUNICORNTESTKEY";
  static constexpr const char* kSecretKey = "runicorn-test-secret-do-not-print";

  static RgwTestServer& Shared() {
    static RgwTestServer server = [] {
      if (auto handover = SharedServerHandover("rgw")) return RgwTestServer(Attached{*handover});
      return RgwTestServer();
    }();
    return server;
  }

  // The fixture's start case: this server outlives the process, described in `handover` (its
  // folder and port) for the cases to attach to; a server that did not start leaves its reason.
  bool HandOver(const std::filesystem::path& handover) {
    if (!available()) {
      WriteHandover(handover.string() + ".unavailable", {reason_});
      return false;
    }
    if (!WriteHandover(handover, {dir_.string(), std::to_string(rgw_port_)})) return false;
    owned_ = false;
    return true;
  }

  // The fixture's stop case (and a start case cleaning up after an interrupted run): stops the
  // server `handover` describes, by the PIDs in its folder, and removes both.
  static void StopHandedOver(const std::filesystem::path& handover) {
    const auto lines = ReadHandover(handover);
    // Only a folder this header made (a handover names nothing else unless edited by hand).
    if (!lines.empty() && std::filesystem::path(lines[0]).filename().string().rfind("runicorn-rgw-", 0) == 0) {
      RgwTestServer server(Attached{handover});
      server.owned_ = true;
      server.Stop();
    }
    std::error_code ec;
    std::filesystem::remove(handover, ec);
    std::filesystem::remove(handover.string() + ".unavailable", ec);
  }

  bool available() const { return attached_ || !pids_.empty(); }
  const std::string& unavailable_reason() const { return reason_; }
  std::string endpoint() const { return fmt::format("http://127.0.0.1:{}", rgw_port_); }
  const std::filesystem::path& dir() const { return dir_; }
  double startup_seconds() const { return startup_seconds_; }

  RgwTestServer() { Start(); }
  ~RgwTestServer() {
    if (owned_) Stop();
  }
  RgwTestServer(const RgwTestServer&) = delete;
  RgwTestServer& operator=(const RgwTestServer&) = delete;

 private:
  struct Attached {
    std::filesystem::path handover;
  };

  // The run's shared server, as its handover file describes it; not stopped by this process.
  explicit RgwTestServer(Attached shared) : owned_(false) {
    // (Without one, reason_ says why: e.g. radosgw not installed.)
    const auto lines = AttachHandover(shared.handover, 2, "Ceph RGW", reason_);
    if (!lines) return;
    dir_ = (*lines)[0];
    rgw_port_ = std::atoi((*lines)[1].c_str());
    attached_ = true;
  }

  void Start() {
    for (const char* tool : {"/usr/bin/radosgw", "/usr/bin/ceph-mon", "/usr/bin/ceph-osd", "/usr/bin/radosgw-admin"}) {
      if (::access(tool, X_OK) != 0) {
        reason_ = fmt::format("Ceph RGW is not installed ({} missing; apt-get install --no-install-recommends "
                              "ceph-mon ceph-osd radosgw ceph-common)", tool);
        return;
      }
    }
    // A port can still be taken between choosing it and radosgw binding it (8 s later under load:
    // "failed to bind address … Address already in use"), so a failed start is retried on other
    // ports, each attempt in a fresh folder (a failed one's folder is kept for its log).
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (StartOnce(attempt)) return;
    }
  }

  // Ports below the kernel's ephemeral range (32768–60999 here), so no outgoing connection's local
  // port can take them; chosen from the PID so parallel programs do not meet.
  bool StartOnce(int attempt) {
    char tmpl[] = "/tmp/runicorn-rgw-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      reason_ = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    keep_dir_ = false;
    const int slot = static_cast<int>((::getpid() + 3571 * attempt) % 10000);
    mon_port_ = 12000 + slot;
    rgw_port_ = 22000 + slot;
    const std::string script = std::filesystem::path(RUNTRACK_TESTS_DIR) / "s3" / "rgw-start.sh";
    auto t0 = std::chrono::steady_clock::now();
    std::string cmd = fmt::format("bash {} {} {} {} {} {} >{}/start.out 2>&1", script, dir_.string(), mon_port_,
                                  rgw_port_, kAccessKey, kSecretKey, dir_.string());
    int rc = std::system(cmd.c_str());
    startup_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ifstream pids(dir_ / "pids");
    for (pid_t pid; pids >> pid;) pids_.push_back(pid);
    if (rc != 0 || pids_.size() != 3) {
      reason_ = fmt::format("the Ceph RGW did not start: see {}/start.out", dir_.string());
      KillAll();
      keep_dir_ = true;  // for the log
      return false;
    }
    reason_.clear();
    return true;
  }

  void KillAll() {
    // The daemons' pid files: also those a failed start left behind, and a handed-over server's.
    for (const char* name : {"client.rgw.a", "osd.0", "mon.a"}) {
      std::ifstream f(dir_ / "run" / (std::string(name) + ".pid"));
      pid_t pid = 0;
      if (f >> pid && pid > 0 && std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) pids_.push_back(pid);
    }
    std::vector<pid_t> ceph;
    for (pid_t pid : pids_)
      if (ProcessIsOneOf(pid, {"radosgw", "ceph-osd", "ceph-mon"})) ceph.push_back(pid);
    // Gateway first, then the OSD, then the monitor: the order they depend on each other.
    StopProcesses(ceph, SIGTERM, std::chrono::seconds(15));
    pids_.clear();
  }

  void Stop() {
    if (!dir_.empty()) KillAll();
    if (!dir_.empty() && !keep_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::filesystem::path dir_;
  std::string reason_;
  std::vector<pid_t> pids_;
  int mon_port_ = 0;
  int rgw_port_ = 0;
  double startup_seconds_ = 0;
  bool keep_dir_ = false;
  bool attached_ = false;  // the run's shared server (Shared() under ctest)
  bool owned_ = true;      // stopped and removed by this object
};

}  // namespace runicorn::testing

// Skips (with a warning) the test case when no RGW could be started, or fails it when
// RUNICORN_REQUIRE_S3=1.
#define RUNICORN_S3_TEST_SERVER(var)                                                        \
  auto& var = ::runicorn::testing::RgwTestServer::Shared();                                 \
  if (!var.available()) {                                                                   \
    const char* require = std::getenv("RUNICORN_REQUIRE_S3");                               \
    if (require != nullptr && std::string(require) == "1") FAIL(var.unavailable_reason());  \
    WARN("skipped: " << var.unavailable_reason());                                          \
    return;                                                                                 \
  }
