// The local side of an SSH pull sync as the viewer has it, for the pull tests against a real sshd
// (sshd_fixture.h): a store with its journal receiver, a known_hosts file outside the store, and a
// session to the sshd whose host key was confirmed first.
#pragma once

#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

#include "compacted_run_support.h"
#include "service/ingest_service.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_service.h"
#include "service/ssh/ssh_session.h"

namespace runicorn::testing {

inline std::unique_ptr<service::ssh::SshSession> Connect(const Sshd& sshd, const std::filesystem::path& known_hosts) {
  REQUIRE(service::ssh::SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  service::ssh::SshCredentials c;
  c.host = "127.0.0.1";
  c.port = sshd.port();
  c.username = sshd.user();
  c.private_key_path = sshd.client_key().string();
  c.use_agent = false;
  service::ssh::ConnectError e;
  auto s = service::ssh::SshSession::Connect(c, known_hosts, &e);
  INFO(e.status.message());
  REQUIRE(s != nullptr);
  return s;
}

struct PullLocal {
  rt::TempDir dir;
  runtrack::StoreLayout layout{dir.path() / "store"};
  std::filesystem::path known_hosts = dir.path() / "ssh_known_hosts";
  std::unique_ptr<service::IngestService> ingest;
  PullLocal() {
    std::filesystem::create_directories(layout.runs_dir());
    ingest = std::make_unique<service::IngestService>(layout);
  }
  // Where a compacted run is installed: the receiver, as the viewer wires it.
  service::ssh::CompactedRunTarget Target() { return service::ssh::IngestInstaller(*ingest, layout); }
  // One pull of everything under `remote_root`; `compacted` false pulls compacted runs by offsets
  // as an older viewer would.
  service::ssh::PullSyncReport Pull(service::ssh::SshSession& session, const std::filesystem::path& remote_root,
                                    bool compacted = true) {
    service::ssh::PullSyncOptions o;
    if (compacted) o.compacted = Target();
    auto r = service::ssh::PullSync(session, remote_root.string(), service::ssh::IngestAppender(*ingest), o);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return *r;
  }
};

}  // namespace runicorn::testing
