// Installing a run compacted in another store (runtrack/compacted_run.h) without SSH: what is
// accepted, what is refused, and that a refusal leaves the local store as it was.
#include <catch2/catch.hpp>

#include <map>

#include "compacted_run_support.h"
#include "util/files.h"

namespace runicorn::testing {
namespace {

namespace fs = std::filesystem;

// Every file under `dir`, relative, with its bytes: "the store is unchanged" is one comparison.
std::map<std::string, std::string> Tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    out[fs::relative(e.path(), dir).string()] = e.is_regular_file() ? ReadAll(e.path()) : "<dir>";
  return out;
}

}  // namespace

TEST_CASE("a compacted run installs whole into another store and reads back bit for bit", "[ssh][compacted]") {
  rt::TempDir remote, local;
  const std::string id = WriteCompactedRun(remote.path(), 3000);
  const runtrack::CompactedRunFiles run = ReadCompactedRun(remote.path(), id);
  REQUIRE(run.files.size() == 8);  // four series, each a segment and a LOD object
  const runtrack::StoreLayout layout(local.path());
  fs::create_directories(layout.runs_dir());

  auto installed = runtrack::InstallCompactedRun(layout, id, run);
  INFO(installed.status().ToString());
  REQUIRE(installed.ok());
  CHECK(installed->replaced_length == 0);
  CHECK(installed->files_installed == 8);
  uint64_t bytes = run.journal.size();
  for (const auto& f : run.files) {
    bytes += f.bytes.size();
    CHECK(ReadAll(layout.segments_dir(id) / f.name) == f.bytes);
  }
  CHECK(installed->bytes_installed == bytes);
  CHECK(ReadAll(layout.journal_path(id)) == run.journal);
  CHECK_FALSE(fs::exists(layout.reindex_marker(id)));  // nothing was indexed of it here
  rt::CheckSameAnswers(Answers(local.path(), id), Answers(remote.path(), id));
}

TEST_CASE("a compacted run is refused whole for a foreign file name or a missing or damaged file or a live writer",
          "[ssh][compacted]") {
  rt::TempDir remote, local;
  const std::string id = WriteCompactedRun(remote.path(), 3000);
  runtrack::CompactedRunFiles run = ReadCompactedRun(remote.path(), id);
  const runtrack::StoreLayout layout(local.path());
  fs::create_directories(layout.runs_dir());
  const auto before = Tree(local.path());
  runtrack::Status status;

  SECTION("a name that would leave the segments folder") {
    run.files.push_back({"../x", "not a segment"});
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kInvalidArgument);
    CHECK(status.message() == "run " + id + ": '../x' is not a file its compacted journal names; refused");
  }
  SECTION("a name the journal does not name") {
    run.files.push_back({"00000009-0000000000000001.seg", run.files[0].bytes});
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kInvalidArgument);
    CHECK(status.message() ==
          "run " + id + ": '00000009-0000000000000001.seg' is not a file its compacted journal names; refused");
  }
  SECTION("a file left out") {
    const std::string name = run.files.back().name;
    run.files.pop_back();
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kNotFound);
    CHECK(status.message() == "run " + id + ": segments/" + name + " is missing");
  }
  SECTION("a segment with a flipped byte in a block") {
    auto& seg = run.files[0];
    REQUIRE(seg.name.ends_with(".seg"));
    seg.bytes[200] ^= 0x40;
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kCorruption);
    CHECK(status.message() == "run " + id + ": segments/" + seg.name + ": segment of series 2 of run " + id +
                                  " (3000 points): block at ordinal 0 fails its CRC-32C check");
  }
  SECTION("a LOD object cut short") {
    auto& lod = run.files[1];
    REQUIRE(lod.name.ends_with(".lod"));
    const size_t size = lod.bytes.size();
    lod.bytes.pop_back();
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kCorruption);
    CHECK(status.message() == fmt::format("run {}: segments/{}: LOD object of series 2 of run {} (3000 points) is {} "
                                          "bytes, the catalog recorded {}",
                                          id, lod.name, id, size - 1, size));
  }
  SECTION("a journal with a flipped byte") {
    run.journal[run.journal.size() - 3] ^= 1;
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kCorruption);
    CHECK(status.message().starts_with("run " + id + ": the compacted journal is damaged (checksum mismatch in the record at offset "));
  }
  SECTION("a writer holds the run here") {
    fs::create_directories(layout.run_dir(id));
    runtrack::util::FileLock lock;
    auto got = runtrack::util::FileLock::TryAcquire(layout.lock_path(id), &lock);
    REQUIRE(got.ok());
    REQUIRE(*got);
    const auto held = Tree(local.path());
    status = runtrack::InstallCompactedRun(layout, id, run).status();
    CHECK(status.code() == runtrack::StatusCode::kFailedPrecondition);
    CHECK(status.message() == "run " + id + " is being written in this store");
    CHECK(Tree(local.path()) == held);
    return;
  }
  CHECK(Tree(local.path()) == before);  // nothing written, not even the run's folder
}

}  // namespace runicorn::testing
