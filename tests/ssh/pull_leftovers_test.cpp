// Pull sync's leftovers (docs/REMOTE.md "Pull sync of a compacted run"), against a real sshd:
// a remote run the receiver refuses leaves nothing in the local store; sealed files stream to
// disk through a bounded buffer (and a damaged one still leaves nothing); a remote compacted
// journal of exactly the length of a local prefix copy is told apart by content.
#include <fstream>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "pull_fixture.h"
#include "journal/journal_compaction.h"
#include "journal/journal_format.h"
#include "service/ssh/pull_compacted.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;
using service::ssh::PullSyncReport;

// Every path under `root` with its size (folders as "/"), one per line, sorted: the store as a
// reader of its files sees it.
std::string Listing(const fs::path& root) {
  std::set<std::string> lines;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(e.path(), root).generic_string();
    lines.insert(e.is_directory() ? rel + "/" : fmt::format("{} {}", rel, e.file_size()));
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The frames of a journal (header excluded), each whole: u32 length, u32 CRC, type, payload.
std::vector<std::string> Frames(const std::string& journal) {
  std::vector<std::string> out;
  size_t at = runtrack::journal::kHeaderSize;
  while (at < journal.size()) {
    const uint32_t length = runtrack::journal::GetU32(journal.data() + at);
    out.push_back(journal.substr(at, 8 + length));
    at += 8 + length;
  }
  REQUIRE(at == journal.size());
  return out;
}

runtrack::journal::RecordType TypeOf(const std::string& frame) {
  return static_cast<runtrack::journal::RecordType>(frame[8]);
}

// A journal of exactly `length` bytes: the header and `frames`, then one Text record filling the
// rest, then `tail` (a frame, or nothing). Ends on a frame boundary by construction.
std::string JournalOfLength(const std::string& header, const std::vector<std::string>& frames, const std::string& tail,
                            size_t length) {
  std::string out = header;
  for (const auto& f : frames) out += f;
  REQUIRE(out.size() + tail.size() + 8 + 2 <= length);
  const size_t payload = length - out.size() - tail.size() - 8 - 1;  // after the type byte
  runtrack::journal::AppendRecord(&out, runtrack::journal::RecordType::kText, std::string(payload - 1, 'x') + "\n");
  out += tail;
  REQUIRE(out.size() == length);
  return out;
}

}  // namespace

TEST_CASE("a pull of a remote run the receiver refuses leaves nothing in the local store", "[ssh][pull-refused]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  // Two remote runs: one whose journal has a bad header, one whose first record fails its CRC.
  const runtrack::StoreLayout remote_layout(remote.path());
  const std::string bad_header = "20261204_010101_aaaaaa", bad_crc = "20261204_010101_bbbbbb";
  std::string good;
  {
    auto store = rt::OpenStore(remote.path());
    auto run = rt::NewRun(*store);
    REQUIRE(run->Log(1, "loss", 0.5).ok());
    REQUIRE(run->Finish().ok());
    good = ReadAll(remote_layout.journal_path(run->id()));
    fs::remove_all(remote_layout.run_dir(run->id()));
  }
  fs::create_directories(remote_layout.run_dir(bad_header));
  std::ofstream(remote_layout.journal_path(bad_header), std::ios::binary) << "NOTAJOURNAL!" + good.substr(12);
  std::string damaged = good;
  damaged[runtrack::journal::kHeaderSize + 9] ^= 0x01;  // inside the first record's payload
  fs::create_directories(remote_layout.run_dir(bad_crc));
  std::ofstream(remote_layout.journal_path(bad_crc), std::ios::binary) << damaged;

  auto session = Connect(sshd, local.known_hosts);
  const std::string before = Listing(local.layout.root());
  const PullSyncReport r = local.Pull(*session, remote.path());
  CHECK(r.runs.empty());
  REQUIRE(r.skipped.size() == 2);
  CHECK(r.skipped[0].rfind(bad_header + ": ingest body refused: ", 0) == 0);
  CHECK(r.skipped[1] == bad_crc + ": ingest body refused: checksum mismatch in the record at offset 12");
  CHECK(Listing(local.layout.root()) == before);
  CHECK(before == "runs/\n");  // no run folder, no empty journal, no lock or marker
}

TEST_CASE("a pull of a compacted run without an installer leaves nothing in the local store", "[ssh][pull-refused]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  const std::string id = WriteCompactedRun(remote.path(), 2000);
  auto session = Connect(sshd, local.known_hosts);
  const std::string before = Listing(local.layout.root());
  const PullSyncReport r = local.Pull(*session, remote.path(), /*compacted=*/false);
  CHECK(r.runs.empty());
  REQUIRE(r.skipped.size() == 1);
  CHECK(r.skipped[0] == id + ": run " + id +
                            ": this journal was compacted where it was written (its points are in that store's sealed "
                            "segments, not in the journal), so it cannot be shipped");
  CHECK(Listing(local.layout.root()) == before);
}

TEST_CASE("sealed files of several MB are pulled through a bounded buffer and installed", "[ssh][compacted][streamed]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  std::string id;
  {
    // Random doubles barely compress: about 8 bytes a point, so one segment of several MB.
    auto store = rt::OpenStore(remote.path());
    auto run = rt::NewRun(*store);
    std::mt19937_64 rng(7);
    std::normal_distribution<double> noise(0, 1);
    for (int i = 0; i < 500000; ++i) REQUIRE(run->Log(i, "noise", noise(rng)).ok());
    REQUIRE(run->Finish().ok());
    id = run->id();
  }
  REQUIRE(CompactStore(remote.path()) == 1);
  const runtrack::CompactedRunFiles remote_run = ReadCompactedRun(remote.path(), id);
  size_t largest = 0;
  for (const auto& f : remote_run.files) largest = std::max(largest, f.bytes.size());
  REQUIRE(largest >= 3 * 1024 * 1024);  // a file many reads long

  auto session = Connect(sshd, local.known_hosts);
  const PullSyncReport r = local.Pull(*session, remote.path());
  INFO((r.skipped.empty() ? std::string() : r.skipped[0]));
  REQUIRE(r.runs.size() == 1);
  CHECK(r.runs[0].streams[0].compacted);
  CHECK(r.runs[0].streams[0].files_fetched == remote_run.files.size());
  CHECK(ReadAll(local.layout.journal_path(id)) == remote_run.journal);
  for (const auto& f : remote_run.files) CHECK(ReadAll(local.layout.segments_dir(id) / f.name) == f.bytes);
  // The memory bound, structurally: no read was larger than the constant (at most 1 MiB), though
  // the file is many times that.
  STATIC_REQUIRE(service::ssh::kSealedFileReadBytes <= (1u << 20));
  CHECK(service::ssh::LargestSealedFileReadForTesting() == service::ssh::kSealedFileReadBytes);
  CHECK(largest > 10 * service::ssh::kSealedFileReadBytes);
  // No stage file is left in the run's folder.
  for (const auto& e : fs::directory_iterator(local.layout.run_dir(id)))
    CHECK(e.path().filename().string().rfind(".fetch-", 0) == std::string::npos);

  // A flipped byte deep in the big file of another copy: refused, the store as it was.
  rt::TempDir remote2;
  fs::create_directories(remote2.path() / "runs");
  fs::copy(runtrack::StoreLayout(remote.path()).run_dir(id), runtrack::StoreLayout(remote2.path()).run_dir(id),
           fs::copy_options::recursive);
  std::string big_name;
  for (const auto& f : remote_run.files)
    if (f.bytes.size() == largest) big_name = f.name;
  {
    const fs::path p = runtrack::StoreLayout(remote2.path()).segments_dir(id) / big_name;
    std::string bytes = ReadAll(p);
    bytes[bytes.size() / 2] ^= 0x10;
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
  }
  PullLocal other;
  const std::string before = Listing(other.layout.root());
  const PullSyncReport bad = other.Pull(*session, remote2.path());
  CHECK(bad.runs.empty());
  REQUIRE(bad.skipped.size() == 1);
  CHECK(bad.skipped[0].rfind(fmt::format("{}: run {}: segments/{}: segment of series ", id, id, big_name), 0) == 0);
  CHECK(Listing(other.layout.root()) == before);
}

TEST_CASE("a remote compacted journal of exactly the length of a local prefix copy replaces it",
          "[ssh][compacted][equal-length]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  const std::string id = WriteCompactedRun(remote.path(), 3000);
  const runtrack::StoreLayout remote_layout(remote.path());
  const std::string compacted = ReadAll(remote_layout.journal_path(id));
  const std::vector<std::string> frames = Frames(compacted);
  REQUIRE(TypeOf(frames.front()) == runtrack::journal::kCompactedRecord);
  REQUIRE(TypeOf(frames[1]) == runtrack::journal::RecordType::kRunStart);
  REQUIRE(TypeOf(frames.back()) == runtrack::journal::RecordType::kStatus);
  // The local copy: the run's head (its Start record), then records up to exactly the compacted
  // journal's length, no final Status record: a prefix of the original, judged crashed (no
  // `receiving` marker), as a pull cut short leaves it.
  const std::string prefix =
      JournalOfLength(compacted.substr(0, runtrack::journal::kHeaderSize), {frames[1]}, "", compacted.size());
  fs::create_directories(local.layout.run_dir(id));
  std::ofstream(local.layout.journal_path(id), std::ios::binary) << prefix;
  REQUIRE_FALSE(fs::exists(local.layout.receiving_marker(id)));

  auto session = Connect(sshd, local.known_hosts);
  service::ssh::PulledStream out;
  auto handled = service::ssh::PullIfCompacted(*session, remote_layout, id, remote_layout.journal_path(id).string(),
                                               compacted.size(), prefix.size(), local.Target(), &out);
  INFO(handled.status().ToString());
  REQUIRE(handled.ok());
  CHECK(*handled);  // without the content check: false, and the prefix stays as the run forever
  CHECK(out.compacted);
  CHECK(out.files_fetched == ReadCompactedRun(remote.path(), id).files.size());
  CHECK(out.local_before == compacted.size());
  CHECK(ReadAll(local.layout.journal_path(id)) == compacted);
  CHECK(fs::exists(local.layout.reindex_marker(id)));  // the catalog forgets the prefix it indexed
}

TEST_CASE("a whole local copy of the remote journal's length costs no read", "[ssh][compacted][equal-length]") {
  if (!SshdAvailable()) return;
  Sshd sshd;
  rt::TempDir remote;
  PullLocal local;
  const std::string id = WriteCompactedRun(remote.path(), 3000);
  const runtrack::StoreLayout remote_layout(remote.path());
  const std::string compacted = ReadAll(remote_layout.journal_path(id));
  const std::vector<std::string> frames = Frames(compacted);
  // Same length, but ending with the run's final Status record: whole, so nothing to look at.
  const std::string whole =
      JournalOfLength(compacted.substr(0, runtrack::journal::kHeaderSize), {frames[1]}, frames.back(), compacted.size());
  fs::create_directories(local.layout.run_dir(id));
  std::ofstream(local.layout.journal_path(id), std::ios::binary) << whole;

  auto session = Connect(sshd, local.known_hosts);
  service::ssh::PulledStream out;
  auto handled = service::ssh::PullIfCompacted(*session, remote_layout, id, remote_layout.journal_path(id).string(),
                                               compacted.size(), whole.size(), local.Target(), &out);
  REQUIRE(handled.ok());
  CHECK_FALSE(*handled);
  CHECK(out.bytes_fetched == 0);
  CHECK(ReadAll(local.layout.journal_path(id)) == whole);
}

}  // namespace runicorn::testing
