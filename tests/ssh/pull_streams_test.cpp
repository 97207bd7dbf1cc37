// Pull sync of a multi-process run (docs/REMOTE.md "SSH remote", "Streams"): every stream file of
// a remote run is mirrored, each with its own offset, against a real sshd (sshd_fixture.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "server_fixture.h"
#include "service/ssh/pull_sync.h"
#include "service/ssh/remote_service.h"
#include "service/ssh/ssh_session.h"
#include "sshd_fixture.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
using service::ssh::ConnectError;
using service::ssh::PullSyncReport;
using service::ssh::SshCredentials;
using service::ssh::SshSession;

const std::string kRun = "20261203_150000_5eed05";

std::unique_ptr<SshSession> Connect(const Sshd& sshd, const fs::path& known_hosts) {
  REQUIRE(SshSession::ConfirmHostKey("127.0.0.1", sshd.port(), sshd.host_fingerprint(), known_hosts).ok());
  SshCredentials c;
  c.host = "127.0.0.1";
  c.port = sshd.port();
  c.username = sshd.user();
  c.private_key_path = sshd.client_key().string();
  c.use_agent = false;
  ConnectError e;
  auto s = SshSession::Connect(c, known_hosts, &e);
  INFO(e.status.message());
  REQUIRE(s != nullptr);
  return s;
}

// One rank of the "DDP" job on the remote host: its own store root, shipping its journal as
// stream `rank` of kRun to the remote host's viewer (the real writer API for streams).
std::unique_ptr<runtrack::Run> StartRank(const fs::path& root, const std::string& viewer_url, int rank) {
  runtrack::StoreOptions so;
  so.server = viewer_url;
  auto store = runtrack::Store::Open(root, so);
  REQUIRE(store.ok());
  runtrack::RunOptions o;
  o.run_id = kRun;
  o.stream = std::to_string(rank);
  o.project = "ddp";
  o.name = "pull";
  auto run = (*store)->CreateRun(o);
  REQUIRE(run.ok());
  return std::move(*run);
}

void LogSteps(runtrack::Run& run, int rank, int from, int to) {
  for (int s = from; s <= to; ++s) REQUIRE(run.Log(s, "loss", rank * 100.0 + s).ok());
  REQUIRE(run.Flush().ok());
}

// Waits until the remote viewer holds the whole of a rank's flushed journal (the shipper wakes
// once a second). The deadline only guards against a hang.
void WaitShipped(const fs::path& node_journal, const fs::path& viewer_copy) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!(fs::exists(viewer_copy) && ReadAll(viewer_copy) == ReadAll(node_journal))) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

TEST_CASE("pull sync mirrors every stream of a multi-process run, then only a stream's new bytes", "[ssh][streams]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir nodes, local_dir;
  TestServer remote_viewer;  // the remote host's viewer, which the three ranks ship to
  TestServer local_viewer;   // ours, which pulls over SSH
  const std::string url = "http://127.0.0.1:" + std::to_string(remote_viewer.port());
  const runtrack::StoreLayout remote(remote_viewer.store().root());
  const runtrack::StoreLayout local(local_viewer.store().root());
  const auto node_journal = [&](int rank) {
    return runtrack::StoreLayout(nodes.path() / fmt::format("rank{}", rank)).journal_path(kRun);
  };

  std::vector<std::unique_ptr<runtrack::Run>> ranks;
  for (int r = 0; r < 3; ++r) {
    ranks.push_back(StartRank(nodes.path() / fmt::format("rank{}", r), url, r));
    LogSteps(*ranks[r], r, 1, 40);
  }
  for (int r : {0, 1}) REQUIRE(ranks[r]->Finish().ok());  // rank 2 is still training
  for (int r = 0; r < 3; ++r) WaitShipped(node_journal(r), remote.stream_journal_path(kRun, std::to_string(r)));
  uint64_t size[3];
  for (int r = 0; r < 3; ++r) size[r] = fs::file_size(remote.stream_journal_path(kRun, std::to_string(r)));

  auto session = Connect(sshd, local_dir.path() / "ssh_known_hosts");
  const auto append = service::ssh::IngestAppender(local_viewer.ctx().services->ingest);
  auto first = service::ssh::PullSync(*session, remote.root().string(), append);
  REQUIRE(first.ok());
  INFO((first->skipped.empty() ? std::string() : first->skipped[0]));
  CHECK(first->skipped.empty());
  REQUIRE(first->runs.size() == 1);
  const auto& run1 = first->runs[0];
  CHECK(run1.run_id == kRun);
  REQUIRE(run1.streams.size() == 3);
  for (int r = 0; r < 3; ++r) {
    const auto& s = run1.streams[r];
    CHECK(s.stream == std::to_string(r));
    CHECK(s.local_before == 0);
    CHECK(s.local_after == size[r]);
    CHECK(s.remote_size == size[r]);
    CHECK(s.bytes_fetched == size[r]);
    CHECK(ReadAll(local.stream_journal_path(kRun, std::to_string(r))) ==
          ReadAll(remote.stream_journal_path(kRun, std::to_string(r))));
  }
  CHECK(run1.local_before == 0);
  CHECK(run1.local_after == size[0] + size[1] + size[2]);
  CHECK(run1.bytes_fetched == size[0] + size[1] + size[2]);
  CHECK(first->bytes_fetched == size[0] + size[1] + size[2]);

  // The local viewer shows one run with every rank's points (rank 2 has not ended).
  local_viewer.Sync();
  HttpClient http(local_viewer.port());
  auto streams = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/streams");
  CHECK(streams.status == 200);
  CHECK(streams.body == fmt::format(R"({{"run_id":"{}","streams":[{{"stream":"0","ended":true,"points":40}},)"
                                    R"({{"stream":"1","ended":true,"points":40}},{{"stream":"2","ended":false,"points":40}}]}})",
                                    kRun));
  auto rank2 = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/stream-points?metric=loss&stream=2");
  REQUIRE(rank2.status == 200);
  const boost::json::value body = rank2.json();
  const auto& values = body.as_object().at("rows").as_object().at("value").as_array();
  REQUIRE(values.size() == 40);
  CHECK(values[0].to_number<double>() == 201);
  CHECK(values[39].to_number<double>() == 240);

  // Rank 2 logs on; the next pull copies only stream 2's new bytes.
  LogSteps(*ranks[2], 2, 41, 60);
  WaitShipped(node_journal(2), remote.stream_journal_path(kRun, "2"));
  const uint64_t size2 = fs::file_size(remote.stream_journal_path(kRun, "2"));
  REQUIRE(size2 > size[2]);
  auto second = service::ssh::PullSync(*session, remote.root().string(), append);
  REQUIRE(second.ok());
  CHECK(second->skipped.empty());
  REQUIRE(second->runs.size() == 1);
  const auto& run2 = second->runs[0];
  REQUIRE(run2.streams.size() == 3);
  for (int r : {0, 1}) {
    CHECK(run2.streams[r].local_before == size[r]);
    CHECK(run2.streams[r].local_after == size[r]);
    CHECK(run2.streams[r].bytes_fetched == 0);
  }
  CHECK(run2.streams[2].stream == "2");
  CHECK(run2.streams[2].local_before == size[2]);
  CHECK(run2.streams[2].local_after == size2);
  CHECK(run2.streams[2].bytes_fetched == size2 - size[2]);
  CHECK(second->bytes_fetched == size2 - size[2]);
  CHECK(ReadAll(local.stream_journal_path(kRun, "2")) == ReadAll(remote.stream_journal_path(kRun, "2")));
  local_viewer.Sync();
  auto after = http.Request(boost::beast::http::verb::get, "/api/runs/" + kRun + "/streams");
  CHECK(after.body == fmt::format(R"({{"run_id":"{}","streams":[{{"stream":"0","ended":true,"points":40}},)"
                                  R"({{"stream":"1","ended":true,"points":40}},{{"stream":"2","ended":false,"points":60}}]}})",
                                  kRun));
  REQUIRE(ranks[2]->Finish().ok());
}

TEST_CASE("pull sync from a rank's own node stores its journal as that rank's stream, bad stream files are skipped",
          "[ssh][streams]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  runtrack::testing::TempDir nodes, local_dir;
  TestServer remote_viewer;
  // Rank 1's node: its run folder holds `journal` and `stream` ("1").
  const fs::path node = nodes.path() / "rank1";
  {
    auto run = StartRank(node, "http://127.0.0.1:" + std::to_string(remote_viewer.port()), 1);
    LogSteps(*run, 1, 1, 10);
    REQUIRE(run->Finish().ok());
  }
  const runtrack::StoreLayout remote(node);
  // A file named like a stream whose name is no valid stream (it would be a hidden file here).
  std::ofstream(remote.run_dir(kRun) / "journal..hidden") << "x";

  const runtrack::StoreLayout local(local_dir.path() / "store");
  fs::create_directories(local.runs_dir());
  service::IngestService ingest(local);
  auto session = Connect(sshd, local_dir.path() / "ssh_known_hosts");
  auto r = service::ssh::PullSync(*session, node.string(), service::ssh::IngestAppender(ingest));
  REQUIRE(r.ok());
  REQUIRE(r->runs.size() == 1);
  REQUIRE(r->runs[0].streams.size() == 1);
  CHECK(r->runs[0].streams[0].stream == "1");
  const uint64_t size = fs::file_size(remote.journal_path(kRun));
  CHECK(r->runs[0].streams[0].bytes_fetched == size);
  CHECK(ReadAll(local.stream_journal_path(kRun, "1")) == ReadAll(remote.journal_path(kRun)));
  CHECK_FALSE(fs::exists(local.journal_path(kRun)));  // not stream "0"
  CHECK_FALSE(fs::exists(local.run_dir(kRun) / "journal..hidden"));
  REQUIRE(r->skipped.size() == 1);
  CHECK(r->skipped[0] == kRun + "/journal..hidden: Invalid stream '.hidden': it must not start with '.'");

  // A `stream` file naming no valid stream: the run is refused, nothing is written.
  std::ofstream(remote.shipping_stream_path(kRun), std::ios::trunc) << "a/b";
  runtrack::testing::TempDir other;
  const runtrack::StoreLayout other_local(other.path() / "store");
  fs::create_directories(other_local.runs_dir());
  service::IngestService other_ingest(other_local);
  auto bad = service::ssh::PullSync(*session, node.string(), service::ssh::IngestAppender(other_ingest));
  REQUIRE(bad.ok());
  CHECK(bad->runs.empty());
  REQUIRE(bad->skipped.size() == 2);
  CHECK(bad->skipped[1] ==
        kRun + ": the run's stream file: Invalid stream 'a/b': use a rank (\"0\", \"1\", ...) or host:pid, characters "
               "[A-Za-z0-9_.:-]");
  CHECK_FALSE(fs::exists(other_local.run_dir(kRun)));
}

}  // namespace runicorn::testing
