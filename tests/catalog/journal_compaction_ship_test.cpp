// Journal shipping after compaction (docs/REMOTE.md, docs/FORMATS.md "Compacted journal"): a
// server that compacted a received journal still counts in its original offsets, so a writer's
// resend is acknowledged as before and nothing can follow the end; a compacted journal itself is
// refused, since its points are not in it.
#include "catalog/sealed_support.h"
#include "journal/journal_compaction.h"
#include "runtrack/remote.h"
#include "util/files.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string Bytes(const fs::path& p) {
  auto r = util::ReadFile(p);
  REQUIRE(r.ok());
  return *r;
}

// Where the journal's records end, so a resend can be cut at whole records.
std::vector<uint64_t> RecordEnds(const std::string& journal) {
  std::vector<uint64_t> out;
  uint64_t at = journal::kHeaderSize;
  while (at + 9 <= journal.size()) {
    at += 8 + journal::GetU32(journal.data() + at);
    out.push_back(at);
  }
  REQUIRE(at == journal.size());
  return out;
}

void CheckResends(JournalReceiver& rx, const std::string& id, const std::string& original) {
  const uint64_t length = original.size();
  const std::vector<uint64_t> ends = RecordEnds(original);
  REQUIRE(ends.size() >= 4);  // start, names, points records, status
  // A resend from the start, of a middle part, and of everything: acknowledged at the end.
  const std::vector<std::pair<uint64_t, uint64_t>> ranges = {{0, ends[1]}, {ends[1], ends[ends.size() - 2]}, {0, length}};
  for (const auto& [from, to] : ranges) {
    auto a = rx.Append(id, "0", from, std::string_view(original).substr(from, to - from));
    INFO(from << ".." << to << ": " << a.status().ToString());
    REQUIRE(a.ok());
    CHECK_FALSE(a->gap);
    CHECK(a->offset == length);
  }
  auto probe = rx.Append(id, "0", 0, {});
  REQUIRE(probe.ok());
  CHECK_FALSE(probe->gap);
  CHECK(probe->offset == length);
  // Nothing may follow the final record; an offset past the end is a gap at the original length.
  std::string more;
  journal::AppendRecord(&more, journal::RecordType::kText, "late\n");
  auto after = rx.Append(id, "0", length, more);
  CHECK(after.status().code() == StatusCode::kFailedPrecondition);
  CHECK(after.status().message() == fmt::format("run {} has ended: nothing may follow its final record", id));
  auto past = rx.Append(id, "0", length + 100, more);
  REQUIRE(past.ok());
  CHECK(past->gap);
  CHECK(past->offset == length);
}

}  // namespace

TEST_CASE("a receiver answers resends to a compacted journal in its original offsets", "[compaction][remote]") {
  TempDir writer, server;
  std::string id;
  {
    auto store = OpenStore(writer.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 1000);
    REQUIRE(run->Finish().ok());
  }
  const std::string original = Bytes(StoreLayout(writer.path()).journal_path(id));
  const StoreLayout central(server.path());
  fs::create_directories(central.runs_dir());
  ReceiverOptions ro;
  ro.linger = std::chrono::milliseconds(0);
  JournalReceiver rx(central, ro);
  const std::vector<uint64_t> ends = RecordEnds(original);
  const uint64_t half = ends[ends.size() / 2];
  REQUIRE(rx.Append(id, "0", 0, std::string_view(original).substr(0, half)).ok());
  auto whole = rx.Append(id, "0", half, std::string_view(original).substr(half));
  REQUIRE(whole.ok());
  REQUIRE(whole->offset == original.size());
  REQUIRE(Bytes(central.journal_path(id)) == original);

  // The viewer indexes, seals and compacts the received run.
  CatalogOptions o;
  o.seal_finished_runs = false;
  o.journal_compaction_delay = std::chrono::seconds(0);
  {
    auto catalog = OpenCatalogWith(server.path(), o);
    Index(*catalog);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    REQUIRE(report->journals_compacted == 1);
  }
  const std::string compacted = Bytes(central.journal_path(id));
  REQUIRE(compacted.size() < original.size() / 4);

  SECTION("the receiver that received it") { CheckResends(rx, id, original); }
  SECTION("a restarted receiver") {
    JournalReceiver restarted(central, ro);
    CheckResends(restarted, id, original);
  }
  CHECK(Bytes(central.journal_path(id)) == compacted);  // no resend touched it
}

TEST_CASE("a compacted journal cannot be shipped: its points are not in it", "[compaction][remote]") {
  TempDir local, server;
  std::string id;
  {
    auto store = OpenStore(local.path());
    auto run = NewRun(*store);
    id = run->id();
    LogMixedRun(*run, 500);
    REQUIRE(run->Finish().ok());
  }
  CatalogOptions o;
  o.seal_finished_runs = false;
  o.journal_compaction_delay = std::chrono::seconds(0);
  {
    auto catalog = OpenCatalogWith(local.path(), o);
    Index(*catalog);
    auto report = catalog->SealFinishedRuns();
    REQUIRE(report.ok());
    REQUIRE(report->journals_compacted == 1);
  }
  const std::string compacted = Bytes(StoreLayout(local.path()).journal_path(id));
  const StoreLayout central(server.path());
  fs::create_directories(central.runs_dir());
  JournalReceiver rx(central);
  auto refused = rx.Append(id, "0", 0, compacted);
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  CHECK(refused.status().message() ==
        fmt::format("run {}: this journal was compacted where it was written (its points are in that store's "
                    "sealed segments, not in the journal), so it cannot be shipped",
                    id));
  CHECK_FALSE(fs::exists(central.run_dir(id)));  // refused before anything was created
}
