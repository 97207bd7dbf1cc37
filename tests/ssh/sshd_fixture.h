// A real OpenSSH server (Debian openssh-server) on a loopback port for the SSH remote's tests:
// its own config, host key and authorized_keys in a temp dir, running as the current user, stopped
// by PID. Without /usr/sbin/sshd the tests are skipped visibly (a WARN line), unless
// RUNICORN_REQUIRE_SSH=1 makes that a failure.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "test_support.h"

namespace runicorn::testing {

inline constexpr const char* kSshd = "/usr/sbin/sshd";

// True when the tests can run; otherwise WARNs (or FAILs under RUNICORN_REQUIRE_SSH=1).
inline bool SshdAvailable() {
  if (::access(kSshd, X_OK) == 0 && ::access("/usr/bin/ssh-keygen", X_OK) == 0) return true;
  const char* req = std::getenv("RUNICORN_REQUIRE_SSH");
  if (req != nullptr && std::string(req) == "1") FAIL("RUNICORN_REQUIRE_SSH=1 but sshd / ssh-keygen are missing");
  WARN("SKIPPED: /usr/sbin/sshd not installed (Debian openssh-server); scripts/setup-deps.sh installs it");
  return false;
}

inline std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int Sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// "SHA256:..." of a public key file, as `ssh-keygen -l` prints it.
inline std::string KeygenFingerprint(const std::filesystem::path& pub) {
  const auto out = pub.string() + ".fp";
  REQUIRE(Sh("ssh-keygen -E sha256 -lf '" + pub.string() + "' > '" + out + "'") == 0);
  std::istringstream in(ReadAll(out));
  std::string bits, fp;
  in >> bits >> fp;
  return fp;
}

class Sshd {
 public:
  Sshd() {
    const auto d = dir_.path();
    // Host key, the test client's key and a key the server does not know.
    REQUIRE(Sh("ssh-keygen -q -t ed25519 -N '' -f '" + (d / "host_key").string() + "'") == 0);
    REQUIRE(Sh("ssh-keygen -q -t ed25519 -N '' -f '" + (d / "client_key").string() + "'") == 0);
    REQUIRE(Sh("ssh-keygen -q -t ed25519 -N '' -f '" + (d / "stranger_key").string() + "'") == 0);
    std::filesystem::copy_file(d / "client_key.pub", d / "authorized_keys");
    port_ = FreePort();
    std::ofstream cfg(d / "sshd_config");
    cfg << "HostKey " << (d / "host_key").string() << "\n"
        << "PidFile " << (d / "sshd.pid").string() << "\n"
        << "AuthorizedKeysFile " << (d / "authorized_keys").string() << "\n"
        << "StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication yes\n"
        << "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nLogLevel ERROR\n"
        << "Subsystem sftp /usr/lib/openssh/sftp-server\n";
    cfg.close();
    // sshd's privilege separation directory (created by the service unit on a normal system).
    ::mkdir("/run/sshd", 0755);
    const auto started = std::chrono::steady_clock::now();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const std::string cfg_path = (d / "sshd_config").string(), port = std::to_string(port_),
                        log = (d / "sshd.log").string();
      ::freopen(log.c_str(), "w", stderr);
      ::execl(kSshd, kSshd, "-D", "-e", "-f", cfg_path.c_str(), "-p", port.c_str(), "-o", "ListenAddress=127.0.0.1",
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when it accepts a TCP connection; a deadline only guards against a hang.
    const auto deadline = started + std::chrono::seconds(20);
    while (!Accepts()) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL("sshd exited at start: " << ReadAll(d / "sshd.log"));
      }
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    startup_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  }
  ~Sshd() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  int port() const { return port_; }
  double startup_ms() const { return startup_ms_; }
  std::filesystem::path dir() const { return dir_.path(); }
  std::filesystem::path client_key() const { return dir_.path() / "client_key"; }
  std::filesystem::path stranger_key() const { return dir_.path() / "stranger_key"; }
  std::string host_fingerprint() const { return KeygenFingerprint(dir_.path() / "host_key.pub"); }
  std::string user() const {
    const char* u = std::getenv("USER");
    return u != nullptr && *u != '\0' ? u : (::getuid() == 0 ? "root" : "");
  }

 private:
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
  }
  bool Accepts() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port_));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  runtrack::testing::TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  double startup_ms_ = 0;
};

}  // namespace runicorn::testing
