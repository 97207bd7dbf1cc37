// runtrack::SealedRunReader without a gateway: a run known only by its sealed series (what the
// segment index in PostgreSQL lists) answers every chart and stream query exactly as the catalog
// that sealed it does, bit for bit, reading the objects from a source (here in memory) into a
// store that never held the run; damaged bytes are Corruption, never points.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <mutex>

#include "catalog/sealed_support.h"
#include "runtrack/sealed_run.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::string KeyOf(const SealedObjectRef& ref, SealedObjectKind kind) {
  return fmt::format("{}/{}-{}-{}{}", ref.run_id, ref.series, ref.point_count, ref.footer_crc32c,
                     kind == SealedObjectKind::kSegment ? ".seg" : ".lod");
}

class MemoryObjects final : public SealedObjectSource {
 public:
  Status ReadRange(const SealedObjectRef& ref, SealedObjectKind kind, uint64_t offset, uint64_t length,
                   std::string* out) const override {
    std::lock_guard lock(mu);
    auto it = objects.find(KeyOf(ref, kind));
    if (it == objects.end()) return Status::NotFound("mem: no object " + KeyOf(ref, kind));
    if (offset > it->second.size() || length > it->second.size() - offset)
      return Status::Corruption("mem: the object is shorter than the range");
    out->assign(it->second, offset, length);
    return Status::Ok();
  }
  std::string Describe(const SealedObjectRef& ref, SealedObjectKind kind) const override {
    return "mem://" + KeyOf(ref, kind);
  }
  mutable std::mutex mu;
  std::map<std::string, std::string> objects;
};

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The chart and stream queries a viewer sends, answered through `query` / `since` / `at_end`.
template <typename Query, typename Since, typename AtEnd>
std::string Answers(const Query& query, const Since& since, const AtEnd& at_end) {
  std::string out;
  std::vector<MetricQuery> queries;
  queries.push_back({});  // every metric, every point
  MetricQuery q;
  q.metrics = {"special", "nope", "loss", "special"};  // a missing name and a repeat
  q.step_min = 1000;
  q.step_max = 4321;
  queries.push_back(q);
  q = {};
  q.metrics = {"loss", "special"};
  q.max_rows = 777;
  q.step_min = 5;
  queries.push_back(q);
  q.count_past_max_rows = false;
  queries.push_back(q);
  for (DownsampleMethod m : {DownsampleMethod::kLttb, DownsampleMethod::kM4, DownsampleMethod::kMinMax}) {
    q = {};
    q.downsample = 500;
    q.method = m;
    queries.push_back(q);
    q.step_min = 2000;
    q.step_max = 15000;
    q.x_axis = XAxis::kWallTime;
    queries.push_back(q);
  }
  q = {};
  q.metrics = {"backwards"};  // steps go backwards: downsampled from sorted raw points
  q.downsample = 100;
  queries.push_back(q);
  for (const MetricQuery& one : queries) {
    Result<MetricTable> t = query(one);
    Must(t.status());
    Put(&out, *t);
    for (const auto& s : t->stages) out += s + "|";
    for (const auto& m : t->missing_metrics) out += "missing " + m + "|";
    out += "\n";
  }
  for (const char* name : {"loss", "noise", "special", "backwards"}) {
    MetricCursor cursor;
    for (int batch = 0; batch < 3; ++batch) {
      Result<MetricChunk> chunk = since(name, cursor, 9000);
      Must(chunk.status());
      Put(&out, chunk->points);
      for (const auto& s : chunk->stages) out += s + "|";
      cursor = chunk->cursor;
    }
    Result<MetricCursor> end = at_end(name);
    Must(end.status());
    out += fmt::format("end {}\n", end->position);
  }
  return out;
}

struct SealedRun {
  TempDir dir;
  std::string id;
  std::vector<SealedSeriesInfo> series;
  std::shared_ptr<MemoryObjects> objects = std::make_shared<MemoryObjects>();
  std::string want;  // the sealing catalog's answers
  std::vector<std::string> stages;  // and its stage names

  SealedRun() {
    {
      auto store = OpenStore(dir.path());
      auto run = NewRun(*store);
      id = run->id();
      LogMixedRun(*run, 20000);
      REQUIRE(run->Finish().ok());
    }
    auto catalog = OpenCatalogWith(dir.path(), SealingOff());
    Index(*catalog);
    auto sealed = catalog->SealFinishedRuns();
    REQUIRE(sealed.ok());
    REQUIRE(sealed->series_sealed == 4);
    auto listed = catalog->ListSealedSeries();
    REQUIRE(listed.ok());
    series = *listed;
    const StoreLayout layout(dir.path());
    for (const SealedSeriesInfo& s : series) {
      const SealedObjectRef& r = s.ref;
      objects->objects[KeyOf(r, SealedObjectKind::kSegment)] = Slurp(layout.segment_path(id, r.series, r.point_count));
      objects->objects[KeyOf(r, SealedObjectKind::kLod)] = Slurp(layout.lod_path(id, r.series, r.point_count));
    }
    auto table = catalog->QueryMetrics(id, {});
    REQUIRE(table.ok());
    stages = table->stages;
    REQUIRE(std::count(stages.begin(), stages.end(), "val") == 1);
    want = Answers([&](const MetricQuery& mq) { return catalog->QueryMetrics(id, mq); },
                   [&](const char* m, MetricCursor c, uint64_t n) { return catalog->ReadMetricSince(id, m, c, n); },
                   [&](const char* m) { return catalog->MetricCursorAtEnd(id, m); });
  }

  std::unique_ptr<SealedRunReader> Open(const fs::path& root) const {
    auto reader = SealedRunReader::Open(root, id, series, objects);
    INFO(reader.status().ToString());
    REQUIRE(reader.ok());
    return std::move(reader).value();
  }
  static std::string AnswersOf(const SealedRunReader& r) {
    return Answers([&](const MetricQuery& mq) { return r.QueryMetrics(mq); },
                   [&](const char* m, MetricCursor c, uint64_t n) { return r.ReadMetricSince(m, c, n); },
                   [&](const char* m) { return r.MetricCursorAtEnd(m); });
  }
};

}  // namespace

TEST_CASE("a run known only by its sealed series answers as the catalog that sealed it", "[s3][sealed][segment_index]") {
  SealedRun s;
  // The index's view of the run: names and step ranges as the catalog had them.
  std::map<std::string, std::pair<uint64_t, int64_t>> by_name;
  for (const SealedSeriesInfo& info : s.series) by_name[info.metric] = {info.ref.point_count, info.last_step};
  CHECK(by_name == std::map<std::string, std::pair<uint64_t, int64_t>>{
                       {"backwards", {20000, 4999}}, {"loss", {20000, 19999}}, {"noise", {20000, 19999}},
                       {"special", {20000, 19999}}});

  TempDir elsewhere;  // a store that never held the run: every byte comes from the source
  auto reader = s.Open(elsewhere.path());
  CHECK(reader->stages() == s.stages);
  CheckSameAnswers(SealedRun::AnswersOf(*reader), s.want);
  CHECK(fs::is_empty(elsewhere.path()));  // nothing written: a replica stays stateless

  // A LOD object that cannot be used is rebuilt from the segment: the same answers.
  for (auto& [key, bytes] : s.objects->objects)
    if (key.ends_with(".lod")) bytes[bytes.size() - 1] ^= 0x40;  // the trailer magic
  CheckSameAnswers(SealedRun::AnswersOf(*s.Open(elsewhere.path())), s.want);
}

TEST_CASE("a sealed run read from damaged or mismatched objects fails, never answers wrong points",
          "[s3][sealed][segment_index]") {
  SealedRun s;
  TempDir elsewhere;
  const SealedSeriesInfo* loss = nullptr;
  for (const SealedSeriesInfo& info : s.series)
    if (info.metric == "loss") loss = &info;
  REQUIRE(loss != nullptr);
  const std::string seg_key = KeyOf(loss->ref, SealedObjectKind::kSegment);

  SECTION("a damaged block: Corruption naming it, for the queries that read it") {
    std::string& bytes = s.objects->objects[seg_key];
    bytes[200] ^= 0x01;  // inside the first block (the header is 16 bytes, a block header 112)
    auto reader = s.Open(elsewhere.path());
    MetricQuery raw;
    raw.metrics = {"loss"};
    auto table = reader->QueryMetrics(raw);
    REQUIRE_FALSE(table.ok());
    CHECK(table.status().code() == StatusCode::kCorruption);
    CHECK(table.status().message() == "block at ordinal 0 fails its CRC-32C check");
    // Other series are intact and still answer.
    raw.metrics = {"noise"};
    CHECK(reader->QueryMetrics(raw).ok());
  }
  SECTION("an object missing from the source: Corruption naming both places") {
    s.objects->objects.erase(seg_key);
    auto reader = SealedRunReader::Open(elsewhere.path(), s.id, s.series, s.objects);
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().code() == StatusCode::kCorruption);
    const std::string local =
        StoreLayout(elsewhere.path()).segment_path(s.id, loss->ref.series, loss->ref.point_count).string();
    CHECK(reader.status().message() == fmt::format("{} is not on this disk, and reading it from mem://{} failed: "
                                                   "mem: no object {}",
                                                   local, seg_key, seg_key));
  }
  SECTION("an index row naming another metric than the segment holds: Corruption") {
    std::vector<SealedSeriesInfo> wrong = s.series;
    for (SealedSeriesInfo& info : wrong)
      if (info.metric == "loss") info.metric = "lost";
    auto reader = SealedRunReader::Open(elsewhere.path(), s.id, wrong, s.objects);
    REQUIRE_FALSE(reader.ok());
    CHECK(reader.status().code() == StatusCode::kCorruption);
    CHECK(reader.status().message() == fmt::format("segment of series {} of run {} holds metric 'loss', the index "
                                                   "says 'lost'",
                                                   loss->ref.series, s.id));
  }
  SECTION("no series, a bad run id, a series of another run") {
    auto none = SealedRunReader::Open(elsewhere.path(), s.id, {}, s.objects);
    CHECK(none.status().code() == StatusCode::kNotFound);
    CHECK(none.status().message() == fmt::format("run {} has no sealed series", s.id));
    CHECK(SealedRunReader::Open(elsewhere.path(), "../../etc", s.series, s.objects).status().code() ==
          StatusCode::kInvalidArgument);
    std::vector<SealedSeriesInfo> mixed = s.series;
    mixed[0].ref.run_id = std::string(22, 'a');
    CHECK(SealedRunReader::Open(elsewhere.path(), s.id, mixed, s.objects).status().code() ==
          StatusCode::kInvalidArgument);
  }
  SECTION("unknown metrics and a cursor past the end, as the catalog words them") {
    auto reader = s.Open(elsewhere.path());
    auto since = reader->ReadMetricSince("nope", {}, 10);
    CHECK(since.status().code() == StatusCode::kNotFound);
    CHECK(since.status().message() == fmt::format("run {} has no metric 'nope' (yet)", s.id));
    auto past = reader->ReadMetricSince("loss", MetricCursor{20001}, 10);
    CHECK(past.status().code() == StatusCode::kFailedPrecondition);
    auto end = reader->ReadMetricSince("loss", MetricCursor{20000}, 10);
    REQUIRE(end.ok());
    CHECK(end->points.empty());
    CHECK(end->cursor.position == 20000);
  }
}
