// Sealed metric segments and LOD objects in a real bucket (Ceph RGW): the publisher uploads every
// sealed series once (a restart uploads nothing), a store whose segment files are gone answers
// every query bit for bit from the bucket, damaged or missing objects are Corruption, and
// `gc --objects` removes a permanently deleted run's objects after the grace period only.
// One test case (sections), so the program starts one gateway for all of it.
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <regex>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "catalog/sealed_support.h"
#include "rgw_test_server.h"
#include "runtrack/sealed_objects.h"
#include "service/s3/object_chunk_gc.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/object_segment_publisher.h"
#include "service/s3/object_segment_references.h"
#include "service/s3/object_segment_source.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/s3_client.h"
#include "service/s3/s3_file_upload.h"

#ifndef RUNICORN_BINARY
#error "RUNICORN_BINARY must name the runicorn executable (set by apps/CMakeLists.txt)"
#endif

namespace fs = std::filesystem;
using namespace runicorn::service::s3;
using namespace runtrack;
using namespace runtrack::testing;

namespace {

std::shared_ptr<S3Client> NewBucket(const runicorn::testing::RgwTestServer& server) {
  static std::atomic<int> n{0};
  S3Location loc;
  loc.bucket = fmt::format("rt-segments-{}-{}", ::getpid(), n++);
  loc.prefix = "team";
  loc.endpoint = server.endpoint();
  auto client = std::make_shared<S3Client>(
      loc, S3Credentials{runicorn::testing::RgwTestServer::kAccessKey, runicorn::testing::RgwTestServer::kSecretKey, ""});
  REQUIRE(client->CreateBucket().ok());
  return client;
}

std::set<std::string> Keys(S3Client& client, const std::string& prefix) {
  auto listed = client.ListAll(prefix);
  REQUIRE(listed.ok());
  std::set<std::string> keys;
  for (const auto& o : *listed) keys.insert(o.key);
  return keys;
}

std::string RunCli(const std::string& args, int* code) {
  const std::string cmd = fmt::format("{} {} 2>&1", RUNICORN_BINARY, args);
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// `runicorn viewer` as a child process (stdout/stderr to files), stopped by PID with SIGTERM.
class Viewer {
 public:
  Viewer(const fs::path& root, const std::string& url, const fs::path& out) : out_(out) {
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::setenv("AWS_ACCESS_KEY_ID", runicorn::testing::RgwTestServer::kAccessKey, 1);
      ::setenv("AWS_SECRET_ACCESS_KEY", runicorn::testing::RgwTestServer::kSecretKey, 1);
      ::execl(RUNICORN_BINARY, RUNICORN_BINARY, "viewer", "--storage", root.c_str(), "--port", "0", "--objects",
              url.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~Viewer() { Stop(); }
  // The port from its "serving ... on http://127.0.0.1:PORT" line; 0 if it exited first.
  int WaitForPort() {
    const std::regex serving(R"(on http://127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::ifstream in(out_);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::smatch m;
      if (std::regex_search(text, m, serving)) return std::stoi(m[1]);
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
  }

 private:
  fs::path out_;
  pid_t pid_ = 0;
};

size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// GET through libcurl: the HTTP status and the body.
std::pair<long, std::string> HttpGet(const std::string& url) {
  std::string body;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  return {code, body};
}

// Two finished runs of 4 series x 10,000 points, sealed; `keep` stays, `drop` is deleted later.
struct SealedStore {
  TempDir dir;
  fs::path root = dir.path();
  std::string keep, drop;
  std::string keep_answers;  // Transcript of `keep` from the local files

  SealedStore() {
    {
      auto store = OpenStore(root);
      for (std::string* id : {&keep, &drop}) {
        auto run = NewRun(*store);
        *id = run->id();
        LogMixedRun(*run, 10000, id == &keep ? 1 : 2);
        REQUIRE(run->Finish().ok());
      }
    }
    {
      auto catalog = OpenCatalogWith(root, SealingOff());
      Index(*catalog);
      auto sealed = catalog->SealFinishedRuns();
      REQUIRE(sealed.ok());
      REQUIRE(sealed->series_sealed == 8);
    }
    // From a reopened catalog, as the bucket's answers will be: run records reloaded from RocksDB.
    auto catalog = OpenCatalogWith(root, SealingOff());
    keep_answers = Transcript(*catalog, keep);
  }
  void RemoveLocalSegments() {
    for (const std::string& id : {keep, drop}) fs::remove_all(StoreLayout(root).segments_dir(id));
  }
};

ObjectSegmentPublisher::ListFn ListOf(Catalog& catalog) {
  return [&catalog] { return catalog.ListSealedObjects(); };
}

}  // namespace

TEST_CASE("sealed segments and LOD objects in the bucket: publish, read back, gc", "[s3][rgw][segments]") {
  RUNICORN_S3_TEST_SERVER(server);
  SealedStore s;
  auto client = NewBucket(server);
  auto segments = std::make_shared<ObjectSegmentStore>(client);
  const std::string prefix = "team/segments/";

  auto catalog = OpenCatalogWith(s.root, SealingOff());
  auto refs = catalog->ListSealedObjects();
  REQUIRE(refs.ok());
  REQUIRE(refs->size() == 8);
  std::set<std::string> expected_keys;
  for (const auto& ref : *refs) {
    expected_keys.insert(segments->KeyOf(ref, SealedObjectKind::kSegment));
    expected_keys.insert(segments->KeyOf(ref, SealedObjectKind::kLod));
  }
  ObjectSegmentPublisher publisher(s.root, segments, ListOf(*catalog));
  auto first = publisher.Push();
  INFO(first.status().ToString());
  REQUIRE(first.ok());

  SECTION("every sealed series lands once, under names its index entry fixes; a restart uploads nothing") {
    CHECK(first->series == 8);
    CHECK(first->uploaded == 16);
    CHECK(first->already_present == 0);
    CHECK(first->missing == 0);
    CHECK(first->corrupt == 0);
    CHECK(first->references_published);
    CHECK(Keys(*client, prefix) == expected_keys);
    const SealedObjectRef& ref = refs->front();
    CHECK(segments->KeyOf(ref, SealedObjectKind::kSegment) ==
          fmt::format("team/segments/{}/{:08x}-{:016x}-{:08x}.seg", ref.run_id, ref.series, ref.point_count,
                      ref.footer_crc32c));
    // The bucket's bytes are the local file's.
    const fs::path local = StoreLayout(s.root).segment_path(ref.run_id, ref.series, ref.point_count);
    auto bytes = client->GetObject(segments->KeyOf(ref, SealedObjectKind::kSegment));
    REQUIRE(bytes.ok());
    std::ifstream in(local, std::ios::binary);
    CHECK(*bytes == std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
    // The store's list names the 8 series.
    auto listed = ReadOwnSegmentReferences(*segments, s.root);
    REQUIRE(listed.ok());
    CHECK(listed->size() == 8);

    // A steady pass costs no request at all; a restarted publisher reads its list (one GET) and
    // uploads nothing.
    const uint64_t puts = client->counts().put, heads = client->counts().head, gets = client->counts().get;
    auto again = publisher.Push();
    REQUIRE(again.ok());
    CHECK(again->uploaded == 0);
    CHECK_FALSE(again->references_published);
    CHECK(client->counts().head == heads);
    ObjectSegmentPublisher restarted(s.root, segments, ListOf(*catalog));
    auto after_restart = restarted.Push();
    REQUIRE(after_restart.ok());
    CHECK(after_restart->uploaded == 0);
    CHECK(after_restart->already_present == 0);
    CHECK_FALSE(after_restart->references_published);
    CHECK(client->counts().put == puts);
    CHECK(client->counts().head == heads);
    CHECK(client->counts().get == gets + 1);

    // Another store's publisher (a replica without the files) finds them by HEAD: no upload.
    TempDir other;
    ObjectSegmentPublisher replica(other.path(), segments, ListOf(*catalog));
    auto from_replica = replica.Push();
    REQUIRE(from_replica.ok());
    CHECK(from_replica->uploaded == 0);
    CHECK(from_replica->already_present == 16);
    CHECK(client->counts().put == puts + 1);  // its own reference list only
  }

  SECTION("objects over the multipart threshold go up in parts from the file, byte for byte") {
    auto bucket = NewBucket(server);
    auto objects = std::make_shared<ObjectSegmentStore>(bucket);
    // The middle object size as the threshold, so both ways of uploading are taken; parts are
    // still >= 5 MiB, so each object over it goes up as one (last) part.
    std::vector<uint64_t> sizes;
    for (const auto& ref : *refs) sizes.insert(sizes.end(), {ref.segment_size, ref.lod_size});
    std::sort(sizes.begin(), sizes.end());
    SegmentPublisherOptions options;
    FileUploadOptions& small = options.upload;
    small.multipart_threshold = sizes[sizes.size() / 2];
    small.part_size = 5ull << 20;
    uint64_t over = 0;
    for (const auto& ref : *refs)
      for (SealedObjectKind kind : {SealedObjectKind::kSegment, SealedObjectKind::kLod})
        over += ref.size_of(kind) > small.multipart_threshold;
    REQUIRE(over > 0);
    REQUIRE(over < 16);
    // What a publisher that died mid-upload left: an unfinished upload under segments/, and one
    // elsewhere (not the segment publisher's to abort).
    const std::string left_key = prefix + "dead-replica-upload.seg";
    REQUIRE(bucket->CreateMultipartUpload(left_key).ok());
    REQUIRE(bucket->CreateMultipartUpload("team/runfiles/unrelated").ok());
    options.stale_upload_seconds = 0;  // (a day by default: a younger one may still be running)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the gateway's clock has milliseconds
    ObjectSegmentPublisher parts(s.root, objects, ListOf(*catalog), options);
    auto pass = parts.Push();
    INFO(pass.status().ToString());
    REQUIRE(pass.ok());
    CHECK(pass->stale_uploads_aborted == 1);
    CHECK(pass->uploaded == 16);
    CHECK(pass->multipart_uploads == over);
    for (const auto& ref : *refs) {
      for (SealedObjectKind kind : {SealedObjectKind::kSegment, SealedObjectKind::kLod}) {
        const StoreLayout layout(s.root);
        const fs::path local = kind == SealedObjectKind::kSegment
                                   ? layout.segment_path(ref.run_id, ref.series, ref.point_count)
                                   : layout.lod_path(ref.run_id, ref.series, ref.point_count);
        auto bytes = bucket->GetObject(objects->KeyOf(ref, kind));
        REQUIRE(bytes.ok());
        std::ifstream in(local, std::ios::binary);
        CHECK(*bytes == std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
      }
    }
    // Its own uploads left nothing unfinished; the other folder's upload is still there.
    auto unfinished = bucket->ListMultipartUploads("team/");
    REQUIRE(unfinished.ok());
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->front().key == "team/runfiles/unrelated");
    CHECK(parts.Push()->stale_uploads_aborted == 0);  // only the first pass looks
  }

  SECTION("a damaged local file is reported and never uploaded; the series stays unlisted") {
    auto bucket = NewBucket(server);
    auto objects = std::make_shared<ObjectSegmentStore>(bucket);
    const SealedObjectRef& bad = refs->front();
    const fs::path path = StoreLayout(s.root).segment_path(bad.run_id, bad.series, bad.point_count);
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(bad.segment_size / 3));
      const char c = static_cast<char>(f.get());
      f.seekp(static_cast<std::streamoff>(bad.segment_size / 3));
      f.put(static_cast<char>(c ^ 0x40));
    }
    ObjectSegmentPublisher fresh(s.root, objects, ListOf(*catalog));
    auto pass = fresh.Push();
    REQUIRE(pass.ok());
    CHECK(pass->corrupt == 1);
    CHECK(pass->uploaded == 15);  // its LOD object, and both objects of the 7 other series
    auto own = ReadOwnSegmentReferences(*objects, s.root);
    REQUIRE(own.ok());
    CHECK(own->size() == 7);
    CHECK(own->count(ObjectSegmentStore::NameOf(bad)) == 0);
    CHECK(Keys(*bucket, prefix).count(objects->KeyOf(bad, SealedObjectKind::kSegment)) == 0);
    auto again = fresh.Push();
    REQUIRE(again.ok());
    CHECK(again->corrupt == 1);
    CHECK(again->uploaded == 0);
  }

  SECTION("a store without its segment files answers every query bit for bit from the bucket") {
    catalog.reset();
    s.RemoveLocalSegments();
    CatalogOptions options = SealingOff();
    options.sealed_objects = std::make_shared<ObjectSegmentSource>(segments);
    auto remote = OpenCatalogWith(s.root, options);
    CheckSameAnswers(Transcript(*remote, s.keep), s.keep_answers);
    CHECK(SegmentFiles(s.root, s.keep).empty());  // read through, nothing written back
  }

  SECTION("a damaged object is Corruption, a missing one Corruption naming both places") {
    catalog.reset();
    s.RemoveLocalSegments();
    // Which run's series is which metric is not needed: damage every series of `keep` differently.
    std::vector<SealedObjectRef> keep_refs;
    for (const auto& ref : *refs)
      if (ref.run_id == s.keep) keep_refs.push_back(ref);
    REQUIRE(keep_refs.size() == 4);
    const std::string damaged_key = segments->KeyOf(keep_refs[0], SealedObjectKind::kSegment);
    auto bytes = client->GetObject(damaged_key);
    REQUIRE(bytes.ok());
    (*bytes)[bytes->size() / 3] ^= 0x10;
    REQUIRE(client->PutObject(damaged_key, *bytes).ok());
    const std::string missing_key = segments->KeyOf(keep_refs[1], SealedObjectKind::kSegment);
    REQUIRE(client->DeleteObject(missing_key).ok());

    CatalogOptions options = SealingOff();
    options.sealed_objects = std::make_shared<ObjectSegmentSource>(segments);
    auto remote = OpenCatalogWith(s.root, options);
    std::vector<std::string> errors;
    for (const char* name : {"loss", "noise", "special", "backwards"}) {
      auto read = remote->ReadMetric(s.keep, name);
      if (read.ok()) continue;
      CHECK(read.status().code() == StatusCode::kCorruption);
      errors.push_back(read.status().message());
    }
    REQUIRE(errors.size() == 2);
    if (errors[0].find("CRC") == std::string::npos) std::swap(errors[0], errors[1]);
    CHECK(errors[0].find("fails its CRC-32C check") != std::string::npos);
    const fs::path local = StoreLayout(s.root).segment_path(keep_refs[1].run_id, keep_refs[1].series,
                                                            keep_refs[1].point_count);
    CHECK(errors[1].rfind(fmt::format("{} is not on this disk, and reading it from s3://{}/{} failed: s3: ",
                                      local.string(), client->location().bucket, missing_key),
                          0) == 0);
    CHECK(errors[1].find("404") != std::string::npos);
  }

  SECTION("gc --objects removes a permanently deleted run's objects after the grace period only") {
    // A key under segments/ that is not of the layout is never touched.
    REQUIRE(client->PutObject("team/segments/README", "not a segment").ok());
    REQUIRE(catalog->PermanentDelete(s.drop).ok());
    auto pass = publisher.Push();
    REQUIRE(pass.ok());
    CHECK(pass->series == 4);
    CHECK(pass->references_published);
    auto listed = ReadOwnSegmentReferences(*segments, s.root);
    REQUIRE(listed.ok());
    CHECK(listed->size() == 4);

    ObjectChunkStore chunks(client);
    BucketGcOptions options;  // grace 3600 s: everything was just uploaded
    auto young = CollectBucketChunks(chunks, s.root, {}, options);
    REQUIRE(young.ok());
    CHECK(young->segments.objects_removed == 0);
    CHECK(young->segments.objects_kept == 8);
    CHECK(young->segments.objects_in_grace == 8);
    CHECK(young->segments.reference_lists == 1);
    options.dry_run = true;
    options.now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() + 7200;
    auto preview = CollectBucketChunks(chunks, s.root, {}, options);
    REQUIRE(preview.ok());
    CHECK(preview->segments.objects_removed == 8);
    CHECK(Keys(*client, prefix).size() == 16 + 1);

    // An unreadable segment list stops gc before anything is deleted.
    REQUIRE(client->PutObject("team/segment-refs/broken", "garbage\n").ok());
    ::setenv("AWS_ACCESS_KEY_ID", runicorn::testing::RgwTestServer::kAccessKey, 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", runicorn::testing::RgwTestServer::kSecretKey, 1);
    ::setenv("HOME", s.root.c_str(), 1);
    const std::string url = fmt::format("'s3://{}/team?endpoint={}'", client->location().bucket, server.endpoint());
    int code = -1;
    std::string out = RunCli(fmt::format("gc --storage {} --objects {} --grace-seconds 0 --no-progress",
                                         s.root.string(), url), &code);
    INFO(out);
    CHECK(code != 0);
    CHECK(out.find(fmt::format("{}/team/segment-refs/broken: segment reference list does not start with "
                               "'runicorn-segment-references 1'", client->location().bucket)) != std::string::npos);
    CHECK(Keys(*client, prefix).size() == 16 + 1);
    REQUIRE(client->DeleteObject("team/segment-refs/broken").ok());

    out = RunCli(fmt::format("gc --storage {} --objects {} --grace-seconds 0 --json --no-progress", s.root.string(), url),
                 &code);
    INFO(out);
    REQUIRE(code == 0);
    std::set<std::string> kept_keys;
    for (const auto& ref : *refs)
      if (ref.run_id == s.keep) {
        kept_keys.insert(segments->KeyOf(ref, SealedObjectKind::kSegment));
        kept_keys.insert(segments->KeyOf(ref, SealedObjectKind::kLod));
      }
    kept_keys.insert("team/segments/README");
    CHECK(Keys(*client, prefix) == kept_keys);
    // The kept run still charts from the bucket.
    catalog.reset();
    s.RemoveLocalSegments();
    CatalogOptions with_bucket = SealingOff();
    with_bucket.sealed_objects = std::make_shared<ObjectSegmentSource>(segments);
    auto remote = OpenCatalogWith(s.root, with_bucket);
    CheckSameAnswers(Transcript(*remote, s.keep), s.keep_answers);
  }

  SECTION("runicorn viewer --objects publishes the sealed series; a viewer without the files charts from the bucket") {
    catalog.reset();
    auto bucket = NewBucket(server);  // a bucket of its own: the set-up published to the other one
    ObjectSegmentStore objects(bucket);
    const std::string url = fmt::format("s3://{}/team?endpoint={}", bucket->location().bucket, server.endpoint());
    const std::vector<std::string> queries = {
        fmt::format("/api/runs/{}/metrics_step?downsample=500", s.keep),
        fmt::format("/api/runs/{}/metrics_step?downsample=300&metrics=loss,noise&step_range=777:9001", s.keep),
        fmt::format("/api/runs/{}/metrics_step?metrics=special&max_rows=5000", s.keep)};
    std::vector<std::string> local_bodies;
    {
      Viewer viewer(s.root, url, s.root / "viewer-a.out");
      const int port = viewer.WaitForPort();
      REQUIRE(port > 0);
      for (const auto& q : queries) {
        auto [code, body] = HttpGet(fmt::format("http://127.0.0.1:{}{}", port, q));
        INFO(body.substr(0, 300));
        REQUIRE(code == 200);
        local_bodies.push_back(body);
      }
      // The publisher's first pass runs at start; wait for its list (it follows the uploads).
      std::unordered_set<std::string> listed;
      for (int i = 0; i < 300 && listed.size() < 8; ++i) {
        auto own = ReadOwnSegmentReferences(objects, s.root);
        REQUIRE(own.ok());
        listed = *own;
        if (listed.size() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      CHECK(listed.size() == 8);
      CHECK(Keys(*bucket, prefix) == [&] {
        std::set<std::string> keys;
        for (const auto& ref : *refs) {
          keys.insert(objects.KeyOf(ref, SealedObjectKind::kSegment));
          keys.insert(objects.KeyOf(ref, SealedObjectKind::kLod));
        }
        return keys;
      }());
    }
    s.RemoveLocalSegments();
    Viewer viewer(s.root, url, s.root / "viewer-b.out");
    const int port = viewer.WaitForPort();
    REQUIRE(port > 0);
    for (size_t i = 0; i < queries.size(); ++i) {
      auto [code, body] = HttpGet(fmt::format("http://127.0.0.1:{}{}", port, queries[i]));
      INFO(queries[i] << "\n" << body.substr(0, 300));
      CHECK(code == 200);
      CHECK(body == local_bodies[i]);
    }
    CHECK(SegmentFiles(s.root, s.keep).empty());
  }
}
