// The SSH session layer and pull sync against a real sshd on a loopback port (sshd_fixture.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>

#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "service/ingest_service.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_service.h"
#include "service/ssh/ssh_session.h"
#include "sshd_fixture.h"

namespace runicorn::testing {
namespace {

using service::ssh::ConnectError;
using service::ssh::SshCredentials;
using service::ssh::SshSession;

SshCredentials KeyCreds(const Sshd& sshd) {
  SshCredentials c;
  c.host = "127.0.0.1";
  c.port = sshd.port();
  c.username = sshd.user();
  c.private_key_path = sshd.client_key().string();
  c.use_agent = false;
  return c;
}

std::string Where(const Sshd& sshd) { return "127.0.0.1:" + std::to_string(sshd.port()); }

// Connects once with the host key confirmed.
std::unique_ptr<SshSession> Trusted(const Sshd& sshd, const std::filesystem::path& known_hosts) {
  REQUIRE(SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  ConnectError e;
  auto s = SshSession::Connect(KeyCreds(sshd), known_hosts, &e);
  INFO(e.status.message());
  REQUIRE(s != nullptr);
  return s;
}

}  // namespace

TEST_CASE("an unknown host key needs a confirmation of its fingerprint, then the host connects", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  WARN("sshd start-up: " << sshd.startup_ms() << " ms");
  runtrack::testing::TempDir local;
  const auto known_hosts = local.path() / "ssh_known_hosts";

  ConnectError e;
  CHECK(SshSession::Connect(KeyCreds(sshd), known_hosts, &e) == nullptr);
  REQUIRE(e.host_key.has_value());
  CHECK(e.host_key->reason == "unknown");
  CHECK(e.host_key->key_type == "ssh-ed25519");
  CHECK(e.host_key->fingerprint_sha256 == sshd.host_fingerprint());
  CHECK(e.host_key->host == "127.0.0.1");
  CHECK(e.host_key->port == sshd.port());
  CHECK(e.status.code() == runtrack::StatusCode::kFailedPrecondition);
  CHECK(e.status.message() == "Host key verification failed: " + Where(sshd) + " is not a known host; confirm its key " +
                                  sshd.host_fingerprint());
  CHECK_FALSE(std::filesystem::exists(known_hosts));

  // A fingerprint other than the server's is not recorded.
  auto wrong = SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), "SHA256:AAAA", known_hosts);
  CHECK(wrong.code() == runtrack::StatusCode::kFailedPrecondition);
  CHECK(wrong.message() == "the host key of " + Where(sshd) + " is now " + sshd.host_fingerprint() +
                               ", not the confirmed SHA256:AAAA");
  CHECK_FALSE(std::filesystem::exists(known_hosts));

  REQUIRE(SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  CHECK(std::filesystem::exists(known_hosts));
  ConnectError e2;
  auto s = SshSession::Connect(KeyCreds(sshd), known_hosts, &e2);
  INFO(e2.status.message());
  REQUIRE(s != nullptr);
  CHECK(s->username() == sshd.user());
}

TEST_CASE("a changed host key is refused and cannot be confirmed over the old one", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local;
  const auto known_hosts = local.path() / "ssh_known_hosts";
  // known_hosts holds another key for this host:port (as after a server was replaced).
  const std::string other = ReadAll(sshd.stranger_key().string() + ".pub");
  std::ofstream(known_hosts) << "[127.0.0.1]:" << sshd.port() << " " << other;

  ConnectError e;
  CHECK(SshSession::Connect(KeyCreds(sshd), known_hosts, &e) == nullptr);
  REQUIRE(e.host_key.has_value());
  CHECK(e.host_key->reason == "changed");
  CHECK(e.host_key->fingerprint_sha256 == sshd.host_fingerprint());
  CHECK(e.status.message() == "Host key verification failed: the key of " + Where(sshd) +
                                  " differs from the one recorded; refusing to connect");
  auto confirm = SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts);
  CHECK(confirm.code() == runtrack::StatusCode::kFailedPrecondition);
  CHECK(confirm.message() == "known_hosts holds another key for " + Where(sshd) +
                                 "; a changed host key is never accepted here (remove the old entry first)");
}

TEST_CASE("a wrong key or a wrong password is refused with a clear error that holds no secret", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local;
  const auto known_hosts = local.path() / "ssh_known_hosts";
  REQUIRE(SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  const std::string who = sshd.user() + "@" + Where(sshd);

  SECTION("a key the server does not know") {
    auto c = KeyCreds(sshd);
    c.private_key_path = sshd.stranger_key().string();
    ConnectError e;
    CHECK(SshSession::Connect(c, known_hosts, &e) == nullptr);
    CHECK(e.auth_failed);
    CHECK_FALSE(e.host_key.has_value());
    CHECK(e.status.message() == "SSH authentication failed for " + who + " (tried: key file)");
  }
  SECTION("a wrong password") {
    auto c = KeyCreds(sshd);
    c.private_key_path.clear();
    c.password = "not-the-password-s3cret";
    ConnectError e;
    CHECK(SshSession::Connect(c, known_hosts, &e) == nullptr);
    CHECK(e.auth_failed);
    CHECK(e.status.message() == "SSH authentication failed for " + who + " (tried: password)");
  }
  SECTION("no credentials at all") {
    auto c = KeyCreds(sshd);
    c.private_key_path.clear();
    ConnectError e;
    CHECK(SshSession::Connect(c, known_hosts, &e) == nullptr);
    CHECK(e.status.message() == "SSH authentication failed for " + who +
                                    " (tried: nothing: give a password, key or agent)");
  }
  SECTION("nobody listening") {
    auto c = KeyCreds(sshd);
    c.port = 1;
    ConnectError e;
    CHECK(SshSession::Connect(c, known_hosts, &e) == nullptr);
    CHECK(e.status.code() == runtrack::StatusCode::kIOError);
    CHECK(e.status.message().rfind("cannot connect to 127.0.0.1:1: ", 0) == 0);
  }
}

TEST_CASE("a remote directory is listed over SFTP", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local, remote;
  auto s = Trusted(sshd, local.path() / "ssh_known_hosts");
  std::filesystem::create_directories(remote.path() / "sub");
  std::ofstream(remote.path() / "a.txt") << "hello";

  auto entries = s->ListDirectory(remote.path().string());
  REQUIRE(entries.ok());
  std::sort(entries->begin(), entries->end(), [](auto& a, auto& b) { return a.name < b.name; });
  REQUIRE(entries->size() == 2);
  CHECK((*entries)[0].name == "a.txt");
  CHECK_FALSE((*entries)[0].is_dir);
  CHECK((*entries)[0].size == 5);
  CHECK((*entries)[1].name == "sub");
  CHECK((*entries)[1].is_dir);

  auto missing = s->ListDirectory((remote.path() / "nope").string());
  CHECK(missing.status().code() == runtrack::StatusCode::kNotFound);
  CHECK(missing.status().message() == "no remote directory '" + (remote.path() / "nope").string() + "'");
}

TEST_CASE("pull sync mirrors a live remote run, then fetches only its appended tail", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local, remote;
  auto session = Trusted(sshd, local.path() / "ssh_known_hosts");
  const runtrack::StoreLayout local_layout(local.path() / "store");
  std::filesystem::create_directories(local_layout.runs_dir());  // an existing local store
  service::IngestService ingest(local_layout);
  const auto append = service::ssh::IngestAppender(ingest);

  // The "remote" store is written by the library, in a directory only sshd serves to us.
  auto store = runtrack::Store::Open(remote.path() / "store");
  REQUIRE(store.ok());
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "live";
  auto run = (*store)->CreateRun(o);
  REQUIRE(run.ok());
  for (int s = 1; s <= 100; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Flush().ok());
  const std::string id = (*run)->id();
  const runtrack::StoreLayout remote_layout(remote.path() / "store");
  const auto remote_journal = remote_layout.journal_path(id);

  auto first = service::ssh::PullSync(*session, (remote.path() / "store").string(), append);
  REQUIRE(first.ok());
  INFO((first->skipped.empty() ? std::string() : first->skipped[0]));
  CHECK(first->skipped.empty());
  REQUIRE(first->runs.size() == 1);
  const uint64_t size1 = std::filesystem::file_size(remote_journal);
  CHECK(first->runs[0].run_id == id);
  CHECK(first->runs[0].local_before == 0);
  CHECK(first->runs[0].local_after == size1);
  CHECK(first->runs[0].bytes_fetched == size1);
  CHECK(ReadAll(local_layout.journal_path(id)) == ReadAll(remote_journal));

  // More logging and the end of the run: only the new bytes travel.
  for (int s = 101; s <= 150; ++s) REQUIRE((*run)->Log(s, "loss", 1.0 / s).ok());
  REQUIRE((*run)->Finish().ok());
  const uint64_t size2 = std::filesystem::file_size(remote_journal);
  REQUIRE(size2 > size1);
  auto second = service::ssh::PullSync(*session, (remote.path() / "store").string(), append);
  REQUIRE(second.ok());
  REQUIRE(second->runs.size() == 1);
  CHECK(second->runs[0].local_before == size1);
  CHECK(second->runs[0].local_after == size2);
  CHECK(second->runs[0].bytes_fetched == size2 - size1);
  CHECK(second->bytes_fetched == size2 - size1);
  CHECK(ReadAll(local_layout.journal_path(id)) == ReadAll(remote_journal));

  // Nothing new: nothing fetched.
  auto third = service::ssh::PullSync(*session, (remote.path() / "store").string(), append);
  REQUIRE(third.ok());
  CHECK(third->bytes_fetched == 0);
}

TEST_CASE("pull sync stops before a torn tail and skips names that are not run ids", "[ssh]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir local, remote;
  auto session = Trusted(sshd, local.path() / "ssh_known_hosts");
  const runtrack::StoreLayout local_layout(local.path() / "store");
  std::filesystem::create_directories(local_layout.runs_dir());  // an existing local store
  service::IngestService ingest(local_layout);
  auto store = runtrack::Store::Open(remote.path() / "store");
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun(runtrack::RunOptions{});
  REQUIRE(run.ok());
  REQUIRE((*run)->Log(1, "loss", 1.0).ok());
  REQUIRE((*run)->Finish().ok());
  const std::string id = (*run)->id();
  const runtrack::StoreLayout remote_layout(remote.path() / "store");
  const std::string whole = ReadAll(remote_layout.journal_path(id));
  // A writer mid-append: half a record's header past the last whole record.
  std::ofstream(remote_layout.journal_path(id), std::ios::app | std::ios::binary) << std::string("\x20\x00\x00", 3);
  // A folder whose name is no run id (it would be a path outside runs/ if it were trusted).
  std::filesystem::create_directories(remote_layout.runs_dir() / "..evil");

  auto r = service::ssh::PullSync(*session, (remote.path() / "store").string(), service::ssh::IngestAppender(ingest));
  REQUIRE(r.ok());
  INFO((r->skipped.empty() ? std::string() : r->skipped[0]));
  REQUIRE(r->runs.size() == 1);
  CHECK(r->runs[0].local_after == whole.size());
  CHECK(ReadAll(local_layout.journal_path(id)) == whole);
  REQUIRE(r->skipped.size() == 1);
  CHECK(r->skipped[0].rfind("..evil: ", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(local_layout.runs_dir() / "..evil"));
}

}  // namespace runicorn::testing
