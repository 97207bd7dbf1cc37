// Pull sync of runs the remote store compacted (docs/REMOTE.md "Pull sync of a compacted run"),
// against a real sshd (sshd_fixture.h): the run arrives as one unit (compacted journal + sealed
// files, checked whole), replaces a partly pulled copy, is not fetched twice, a damaged remote
// file leaves the local store unchanged, and a run that is not compacted still pulls by offsets.
#include <catch2/catch.hpp>

#include "pull_fixture.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
using service::ssh::PullSyncReport;

uint64_t SealedBytes(const runtrack::CompactedRunFiles& run) {
  uint64_t n = 0;
  for (const auto& f : run.files) n += f.bytes.size();
  return n;
}

std::string Skipped(const PullSyncReport& r) { return r.skipped.empty() ? std::string() : r.skipped[0]; }

}  // namespace

TEST_CASE("pull sync brings a run compacted before its first pull whole and then fetches nothing again",
          "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  const std::string id = WriteCompactedRun(remote.path(), 5000);
  const runtrack::CompactedRunFiles run = ReadCompactedRun(remote.path(), id);
  const runtrack::StoreLayout remote_layout(remote.path());
  auto session = Connect(sshd, local.known_hosts);

  // Without an installer, today's refusal: nothing wrong is stored.
  const PullSyncReport refused = local.Pull(*session, remote.path(), false);
  CHECK(refused.runs.empty());
  REQUIRE(refused.skipped.size() == 1);
  CHECK(refused.skipped[0] ==
        id + ": run " + id +
            ": this journal was compacted where it was written (its points are in that store's sealed segments, not in "
            "the journal), so it cannot be shipped");
  // (The receiver's first probe made the run's folder and an empty journal, as before.)
  CHECK((!fs::exists(local.layout.journal_path(id)) || fs::file_size(local.layout.journal_path(id)) == 0));

  const PullSyncReport first = local.Pull(*session, remote.path());
  INFO(Skipped(first));
  CHECK(first.skipped.empty());
  REQUIRE(first.runs.size() == 1);
  REQUIRE(first.runs[0].streams.size() == 1);
  const auto& s = first.runs[0].streams[0];
  auto head = runtrack::ReadLocalCompactedHead(remote_layout, id);
  REQUIRE(head.ok());
  REQUIRE(head->has_value());
  CHECK(s.stream == "0");
  CHECK(s.compacted);
  CHECK(s.files_fetched == 8);
  CHECK(s.local_before == 0);
  CHECK(s.local_after == (*head)->original_length);
  CHECK(s.remote_size == run.journal.size());
  CHECK(s.bytes_fetched == run.journal.size() + SealedBytes(run));
  CHECK(first.bytes_fetched == s.bytes_fetched);
  CHECK(ReadAll(local.layout.journal_path(id)) == run.journal);
  for (const auto& f : run.files) CHECK(ReadAll(local.layout.segments_dir(id) / f.name) == f.bytes);
  // Every point bit for bit, every query shape, the run record: as the remote store answers.
  rt::CheckSameAnswers(Answers(local.layout.root(), id), Answers(remote.path(), id));

  // A second pull: nothing travels.
  const PullSyncReport second = local.Pull(*session, remote.path());
  CHECK(second.skipped.empty());
  REQUIRE(second.runs.size() == 1);
  const auto& again = second.runs[0].streams[0];
  CHECK(again.compacted);
  CHECK(again.bytes_fetched == 0);
  CHECK(again.files_fetched == 0);
  CHECK(again.local_before == (*head)->original_length);
  CHECK(again.local_after == (*head)->original_length);
  CHECK(second.bytes_fetched == 0);

  // A sealed file lost locally since: the next pull installs the run again.
  fs::remove(local.layout.segments_dir(id) / run.files[3].name);
  const PullSyncReport third = local.Pull(*session, remote.path());
  CHECK(third.skipped.empty());
  REQUIRE(third.runs.size() == 1);
  CHECK(third.runs[0].streams[0].files_fetched == 8);
  CHECK(ReadAll(local.layout.segments_dir(id) / run.files[3].name) == run.files[3].bytes);
}

TEST_CASE("pull sync replaces a partly pulled copy by the run compacted since and the catalog reads each point once",
          "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  auto session = Connect(sshd, local.known_hosts);
  const runtrack::StoreLayout remote_layout(remote.path());
  constexpr int kSteps = 4000;
  const bool judged_crashed = GENERATE(false, true);
  INFO("the local copy was judged crashed: " << judged_crashed);

  // Half the run is logged and pulled while it trains.
  std::mt19937_64 rng(1);
  auto store = rt::OpenStore(remote.path());
  runtrack::RunOptions o;
  o.project = "p";
  o.name = "compacted";
  auto run = rt::NewRun(*store, o);
  const std::string id = run->id();
  LogMixedRange(*run, 0, kSteps / 2, kSteps, rng);
  REQUIRE(run->Flush().ok());
  const PullSyncReport partial = local.Pull(*session, remote.path());
  CHECK(partial.skipped.empty());
  REQUIRE(partial.runs.size() == 1);
  CHECK_FALSE(partial.runs[0].streams[0].compacted);
  const uint64_t prefix = partial.runs[0].local_after;
  REQUIRE(prefix == fs::file_size(remote_layout.journal_path(id)));

  // The local catalog indexes the prefix (the viewer's indexer would), and keeps it open.
  auto catalog = rt::OpenCatalogWith(local.layout.root(), rt::SealingOff());
  rt::Index(*catalog);
  if (judged_crashed) {  // the receiver's lease ran out: the catalog judged the copy crashed
    local.ingest->SetLease(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(local.ingest->ExpireLeases() == 1);
    rt::Index(*catalog);
    auto d = catalog->GetRun(id);
    REQUIRE(d.ok());
    REQUIRE(d->run.exit_reason == "process_not_found");
  }
  {
    auto loss = catalog->ReadMetric(id, "loss");
    REQUIRE(loss.ok());
    REQUIRE(loss->points.size() == kSteps / 2);
  }

  // The run ends on the remote host, which seals it and compacts its journal.
  LogMixedRange(*run, kSteps / 2, kSteps, kSteps, rng);
  REQUIRE(run->Summary(boost::json::object{{"best", 0.25}}).ok());
  REQUIRE(run->Finish().ok());
  run.reset();
  store.reset();
  REQUIRE(CompactStore(remote.path()) == 1);
  const runtrack::CompactedRunFiles compacted = ReadCompactedRun(remote.path(), id);
  auto head = runtrack::ReadLocalCompactedHead(remote_layout, id);
  REQUIRE(head.ok());
  REQUIRE(head->has_value());

  const PullSyncReport pulled = local.Pull(*session, remote.path());
  INFO(Skipped(pulled));
  CHECK(pulled.skipped.empty());
  REQUIRE(pulled.runs.size() == 1);
  const auto& s = pulled.runs[0].streams[0];
  CHECK(s.compacted);
  CHECK(s.local_before == prefix);
  CHECK(s.local_after == (*head)->original_length);
  CHECK(s.files_fetched == 8);
  CHECK(s.bytes_fetched == compacted.journal.size() + SealedBytes(compacted));
  CHECK(ReadAll(local.layout.journal_path(id)) == compacted.journal);
  CHECK_FALSE(fs::exists(local.layout.receiving_marker(id)));

  // The open catalog forgets the prefix it indexed and reads the run again: every point once.
  CHECK(fs::exists(local.layout.reindex_marker(id)));
  rt::Index(*catalog);
  CHECK_FALSE(fs::exists(local.layout.reindex_marker(id)));
  const std::string want = Answers(remote.path(), id);
  {
    auto loss = catalog->ReadMetric(id, "loss");
    REQUIRE(loss.ok());
    CHECK(loss->points.size() == kSteps);
    auto d = catalog->GetRun(id);
    REQUIRE(d.ok());
    CHECK(d->run.status == runtrack::RunStatus::kFinished);
    CHECK_FALSE(d->journal_corrupt);
  }
  catalog.reset();
  rt::CheckSameAnswers(Answers(local.layout.root(), id), want);  // what was committed, reopened

  // The receiver answers in the original offsets; nothing travels again.
  auto probe = service::ssh::IngestAppender(*local.ingest)(id, "0", 0, {});
  REQUIRE(probe.ok());
  CHECK(*probe == (*head)->original_length);
  const PullSyncReport again = local.Pull(*session, remote.path());
  CHECK(again.skipped.empty());
  CHECK(again.bytes_fetched == 0);
}

TEST_CASE("pull sync of a compacted run with a damaged remote segment names the run and file and changes nothing",
          "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  const std::string id = WriteCompactedRun(remote.path(), 3000);
  const runtrack::StoreLayout remote_layout(remote.path());
  const runtrack::CompactedRunFiles run = ReadCompactedRun(remote.path(), id);
  const std::string name = run.files[2].name;
  REQUIRE(name.ends_with(".seg"));
  {
    std::string bytes = run.files[2].bytes;
    bytes[300] ^= 0x10;
    std::ofstream(remote_layout.segments_dir(id) / name, std::ios::binary | std::ios::trunc) << bytes;
  }
  auto session = Connect(sshd, local.known_hosts);
  const PullSyncReport r = local.Pull(*session, remote.path());
  CHECK(r.runs.empty());
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0] == fmt::format("{}: run {}: segments/{}: segment of series 3 of run {} (3000 points): block at "
                                    "ordinal 0 fails its CRC-32C check",
                                    id, id, name, id));
  CHECK_FALSE(fs::exists(local.layout.run_dir(id)));
}

TEST_CASE("pull sync of a sealed run that is not compacted still goes by offsets", "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  std::string id;
  {
    auto store = rt::OpenStore(remote.path());
    auto run = rt::NewRun(*store);
    for (int s = 1; s <= 500; ++s) REQUIRE(run->Log(s, "loss", 1.0 / s).ok());
    REQUIRE(run->Finish().ok());
    id = run->id();
  }
  {
    // Sealed (a segments folder), journal kept as written (the default 10-minute delay).
    auto catalog = rt::OpenCatalogWith(remote.path(), rt::SealingOff());
    rt::Index(*catalog);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    REQUIRE(report->runs_sealed == 1);
    REQUIRE(report->journals_compacted == 0);
  }
  const runtrack::StoreLayout remote_layout(remote.path());
  REQUIRE(fs::is_directory(remote_layout.segments_dir(id)));
  const std::string journal = ReadAll(remote_layout.journal_path(id));
  auto session = Connect(sshd, local.known_hosts);

  const PullSyncReport first = local.Pull(*session, remote.path());
  CHECK(first.skipped.empty());
  REQUIRE(first.runs.size() == 1);
  const auto& s = first.runs[0].streams[0];
  CHECK_FALSE(s.compacted);
  CHECK(s.local_after == journal.size());
  // The journal by offsets, after one read of its head (21 bytes) that told it is not compacted.
  CHECK(s.bytes_fetched == journal.size() + 21);
  CHECK(ReadAll(local.layout.journal_path(id)) == journal);
  CHECK_FALSE(fs::exists(local.layout.segments_dir(id)));  // the local catalog seals it itself
}

TEST_CASE("a run pulled whole before its remote compaction stays as it is", "[ssh][compacted]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  std::string id;
  {
    auto store = rt::OpenStore(remote.path());
    auto run = rt::NewRun(*store);
    for (int s = 1; s <= 500; ++s) REQUIRE(run->Log(s, "loss", 1.0 / s).ok());
    REQUIRE(run->Finish().ok());
    id = run->id();
  }
  const runtrack::StoreLayout remote_layout(remote.path());
  const std::string original = ReadAll(remote_layout.journal_path(id));
  auto session = Connect(sshd, local.known_hosts);
  const PullSyncReport first = local.Pull(*session, remote.path());
  REQUIRE(first.runs.size() == 1);
  CHECK(first.bytes_fetched == original.size());

  REQUIRE(CompactStore(remote.path()) == 1);
  const std::string compacted = ReadAll(remote_layout.journal_path(id));
  const PullSyncReport second = local.Pull(*session, remote.path());
  CHECK(second.skipped.empty());
  REQUIRE(second.runs.size() == 1);
  const auto& s = second.runs[0].streams[0];
  CHECK(s.compacted);
  CHECK(s.files_fetched == 0);
  CHECK(s.local_before == original.size());
  CHECK(s.local_after == original.size());
  CHECK(s.remote_size == compacted.size());
  // The journal's head, then the rest of its Compacted record (u32 length at offset 12).
  const uint32_t record = static_cast<unsigned char>(compacted[12]) | static_cast<unsigned char>(compacted[13]) << 8 |
                          static_cast<unsigned char>(compacted[14]) << 16 |
                          static_cast<uint32_t>(static_cast<unsigned char>(compacted[15])) << 24;
  CHECK(s.bytes_fetched == 12 + 8 + record);
  CHECK(ReadAll(local.layout.journal_path(id)) == original);
  CHECK_FALSE(fs::exists(local.layout.segments_dir(id)));
}

}  // namespace runicorn::testing
