// A private PostgreSQL 15 for tests: initdb + pg_ctl in a temporary folder, listening only on a
// Unix socket inside that folder (listen_addresses='' : no TCP port is opened), stopped by PID
// when the program exits. Test cases use Shared(): under ctest the run's shared server
// (shared_test_servers.h: started once by a fixture), otherwise one per test program. Each case
// takes a fresh database from NewDatabase() (named after its PID), so cases never see each other's
// rows. A case that stops, restarts or reconfigures its server starts one of its own.
//
// initdb refuses to run as root, so under root (CI) the server runs as the `postgres` user the
// Debian package creates (or `nobody`), owning the temporary folder.
//
// When PostgreSQL 15 is not installed, available() is false and RUNICORN_PG_TEST_SERVER() skips
// the test case with a warning naming the package; with RUNICORN_REQUIRE_PG=1 in the environment
// (set it where the package is installed) the same case fails instead. The header itself needs no
// Catch2 (the macro expands in test files), so benchmarks use the server too.
#pragma once

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "../shared_test_servers.h"

namespace runicorn::testing {

class PgTestServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";
  static constexpr int kPort = 5432;  // only names the socket file; the folder is private

  static PgTestServer& Shared() {
    static PgTestServer server = [] {
      if (auto handover = SharedServerHandover("postgresql")) return PgTestServer(Attached{*handover});
      return PgTestServer();
    }();
    return server;
  }

  // The fixture's start case: this server outlives the process, described in `handover` (its
  // folder) for the cases to attach to; a server that did not start leaves its reason.
  bool HandOver(const std::filesystem::path& handover) {
    if (!available()) {
      WriteHandover(handover.string() + ".unavailable", {reason_});
      return false;
    }
    if (!WriteHandover(handover, {dir_.string()})) return false;
    owned_ = false;
    return true;
  }

  // The fixture's stop case (and a start case cleaning up after an interrupted run): stops the
  // server `handover` describes by its postmaster's PID, and removes its folder and the handover.
  static void StopHandedOver(const std::filesystem::path& handover) {
    const auto lines = ReadHandover(handover);
    // Only a folder this header made (a handover names nothing else unless edited by hand).
    if (!lines.empty() && std::filesystem::path(lines[0]).filename().string().rfind("runicorn-pg-", 0) == 0) {
      PgTestServer server(Attached{handover});
      if (!ProcessIsOneOf(server.postmaster_pid_, {"postgres"})) server.postmaster_pid_ = 0;
      server.owned_ = true;
      server.Stop();
    }
    std::error_code ec;
    std::filesystem::remove(handover, ec);
    std::filesystem::remove(handover.string() + ".unavailable", ec);
  }

  bool available() const { return postmaster_pid_ > 0; }
  const std::string& unavailable_reason() const { return reason_; }
  const std::filesystem::path& dir() const { return dir_; }

  std::string conninfo(const std::string& database) const {
    return fmt::format("host={} port={} user=postgres dbname={}", dir_.string(), kPort, database);
  }

  // Creates an empty database and returns its conninfo; "" on error (see createdb.log). Named after
  // this process too: every case of a ctest run may share the server.
  std::string NewDatabase() {
    static std::atomic<int> counter{0};
    std::string name = fmt::format("t{}_{}", ::getpid(), counter++);
    std::string cmd = fmt::format("{}/createdb -h {} -p {} -U postgres {} >>{}/createdb.log 2>&1", kBinDir,
                                  dir_.string(), kPort, name, dir_.string());
    return std::system(cmd.c_str()) == 0 ? conninfo(name) : std::string();
  }

  // A server of one's own (tests use Shared()); `extra_options` are more "-c name=value" flags
  // for the postmaster (benchmarks: shared_buffers).
  explicit PgTestServer(const std::string& extra_options = "") { Start(extra_options); }
  ~PgTestServer() {
    if (owned_) Stop();
  }
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

 private:
  struct Attached {
    std::filesystem::path handover;
  };

  // The run's shared server, as its handover file describes it; not stopped by this process.
  explicit PgTestServer(Attached shared) : owned_(false) {
    // (Without one, reason_ says why: e.g. PostgreSQL 15 not installed.)
    const auto lines = AttachHandover(shared.handover, 1, "PostgreSQL", reason_);
    if (!lines) return;
    dir_ = (*lines)[0];
    std::ifstream pid_file(dir_ / "data" / "postmaster.pid");
    pid_file >> postmaster_pid_;
    if (postmaster_pid_ <= 0) reason_ = fmt::format("the shared PostgreSQL in {} has no postmaster.pid", (*lines)[0]);
  }

  void Start(const std::string& extra_options) {
    for (const char* tool : {"initdb", "pg_ctl", "createdb"}) {
      std::string path = fmt::format("{}/{}", kBinDir, tool);
      if (::access(path.c_str(), X_OK) != 0) {
        reason_ = fmt::format("PostgreSQL 15 is not installed ({} missing; apt-get install postgresql-15)", path);
        return;
      }
    }
    char tmpl[] = "/tmp/runicorn-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      reason_ = fmt::format("mkdtemp failed: errno {}", errno);
      return;
    }
    dir_ = tmpl;
    std::string as_user;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) pw = ::getpwnam("nobody");
      if (pw == nullptr || ::chown(tmpl, pw->pw_uid, pw->pw_gid) != 0) {
        reason_ = "running as root and no unprivileged user (postgres, nobody) to run initdb as";
        return;
      }
      as_user = fmt::format("runuser -u {} -- ", pw->pw_name);
    }
    const std::string d = dir_.string();
    // fsync off and no WAL safety: a test database is thrown away, and this saves seconds.
    std::string init = fmt::format(
        "{}{}/initdb -D {}/data -A trust -U postgres -E UTF8 --locale=C --no-sync >{}/initdb.log 2>&1", as_user,
        kBinDir, d, d);
    std::string start = fmt::format(
        "{}{}/pg_ctl -D {}/data -l {}/server.log -w -t 60 -o \"-k {} -p {} -c listen_addresses='' -c fsync=off"
        " -c synchronous_commit=off -c full_page_writes=off {}\" start >{}/pg_ctl.log 2>&1",
        as_user, kBinDir, d, d, d, kPort, extra_options, d);
    // ctest runs each test case as its own process: the first one's initdb result is kept as a
    // template (per user and major version) and later ones copy it (0.1 s instead of ~2 s).
    const std::string tmpl_dir =
        (std::filesystem::temp_directory_path() / fmt::format("runicorn-pg15-template-{}", ::geteuid())).string();
    bool copied = ::access((tmpl_dir + "/PG_VERSION").c_str(), R_OK) == 0 &&
                  std::system(fmt::format("cp -a {} {}/data 2>/dev/null", tmpl_dir, d).c_str()) == 0;
    if (!copied) {
      std::error_code ec;
      std::filesystem::remove_all(dir_ / "data", ec);
      if (std::system(init.c_str()) != 0) {
        reason_ = fmt::format("initdb failed: see {}/initdb.log", d);
        return;
      }
      // Copied aside, then renamed: a concurrent process never sees half a template.
      std::string staging = fmt::format("{}.{}", tmpl_dir, ::getpid());
      if (std::system(fmt::format("cp -a {}/data {} 2>/dev/null", d, staging).c_str()) != 0 ||
          ::rename(staging.c_str(), tmpl_dir.c_str()) != 0)
        std::filesystem::remove_all(staging, ec);
    }
    if (std::system(start.c_str()) != 0) {
      reason_ = fmt::format("pg_ctl start failed: see {}/server.log", d);
      return;
    }
    std::ifstream pid_file(dir_ / "data" / "postmaster.pid");
    pid_file >> postmaster_pid_;
    if (postmaster_pid_ <= 0) reason_ = "no postmaster.pid after pg_ctl start";
  }

  // SIGINT is PostgreSQL's "fast" shutdown: sessions are ended, nothing waits for clients.
  void Stop() {
    if (postmaster_pid_ > 0) {
      StopProcesses({postmaster_pid_}, SIGINT, std::chrono::seconds(30));
      postmaster_pid_ = 0;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::filesystem::path dir_;
  std::string reason_;
  pid_t postmaster_pid_ = 0;
  bool owned_ = true;  // stopped and removed by this object
};

}  // namespace runicorn::testing

// Skips the test case when `server` is not available (a warning naming the missing package), or
// fails it when RUNICORN_REQUIRE_PG=1.
#define RUNICORN_PG_REQUIRE_AVAILABLE(server)                                               \
  if (!server.available()) {                                                               \
    const char* require = std::getenv("RUNICORN_REQUIRE_PG");                               \
    if (require != nullptr && std::string(require) == "1") FAIL(server.unavailable_reason()); \
    WARN("SKIPPED: " << server.unavailable_reason());                                      \
    return;                                                                                \
  }

// First line of a PostgreSQL test case: binds `server` to the shared test server (or skips / fails
// as RUNICORN_PG_REQUIRE_AVAILABLE). A case that stops its server starts its own instead:
// `PgTestServer pg; RUNICORN_PG_REQUIRE_AVAILABLE(pg);`.
#define RUNICORN_PG_TEST_SERVER(server)                        \
  auto& server = ::runicorn::testing::PgTestServer::Shared(); \
  RUNICORN_PG_REQUIRE_AVAILABLE(server)
