// Large files to the bucket (s3_file_upload.h, run_file_publisher.h; docs/SCALE-OUT.md "S3 object
// store"): a file over the threshold goes up in 5 MiB parts and reads back byte for byte; a file
// that changes mid-upload, a wrong expected SHA-256 and a cancel all abort the upload, leaving no
// object and no unfinished upload; the run file publisher publishes a 12 MiB run file with the right
// SHA-256 row. Real Ceph RGW (its minimum part size is S3's 5 MiB) and PostgreSQL; small files, so
// the suite stays fast.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "rgw_test_server.h"
#include "service/s3/s3_client.h"
#include "service/s3/s3_file_upload.h"
#include "team_fixture.h"

#ifdef RUNICORN_HAVE_PG
#include "catalog/catalog_support.h"
#include "pg/pg_test_server.h"
#include "runtrack/layout.h"
#include "service/embedded_storage.h"
#include "service/pg/pg_run_files.h"
#include "service/s3/object_run_files.h"
#include "service/s3/run_file_publisher.h"
#endif

namespace {

namespace fs = std::filesystem;
using runicorn::service::s3::FileUploadOptions;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;
using runicorn::service::s3::Sha256Hex;
using runicorn::service::s3::UploadFile;
using runicorn::testing::RandomBytes;
using runtrack::Status;
using runtrack::StatusCode;

constexpr uint64_t kMiB = 1u << 20;

// The value of `r`, or `fallback` when it failed (so a CHECK shows the comparison either way).
template <typename T>
T ValueOr(runtrack::Result<T> r, T fallback) {
  return r.ok() ? std::move(r).value() : std::move(fallback);
}

std::shared_ptr<S3Client> NewBucket(const runicorn::testing::RgwTestServer& rgw, const std::string& tag) {
  S3Location loc;
  static int n = 0;  // a bucket per call: Catch2 runs a test case again for each SECTION
  loc.bucket = fmt::format("rt-{}-{}-{}", tag, ::getpid(), n++);
  loc.prefix = "team";
  loc.endpoint = rgw.endpoint();
  auto client = std::make_shared<S3Client>(
      loc, runicorn::service::s3::S3Credentials{runicorn::testing::RgwTestServer::kAccessKey,
                                                runicorn::testing::RgwTestServer::kSecretKey, ""});
  REQUIRE(client->CreateBucket().ok());
  return client;
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The unfinished multipart uploads under the client's prefix.
size_t OpenUploads(S3Client& client) {
  auto listed = client.ListMultipartUploads(client.location().Key(""));
  INFO(listed.status().ToString());
  REQUIRE(listed.ok());
  return listed->size();
}

FileUploadOptions SmallParts() {
  FileUploadOptions options;
  options.multipart_threshold = 8 * kMiB;
  options.part_size = 5 * kMiB;
  return options;
}

}  // namespace

TEST_CASE("a file over the threshold goes up in 5 MiB parts and reads back exactly, smaller ones in one PUT",
          "[s3][rgw][multipart]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  runicorn::testing::ScratchDir tmp("multipart");
  auto client = NewBucket(rgw, "mp-file");
  const std::string big = RandomBytes(12 * kMiB + 7, 1), small = RandomBytes(kMiB + 3, 2);
  WriteFile(tmp.path / "big.bin", big);
  WriteFile(tmp.path / "small.bin", small);
  const std::string big_key = client->location().Key("big"), small_key = client->location().Key("small");

  std::vector<uint64_t> progress;
  FileUploadOptions options = SmallParts();
  options.progress = [&](uint64_t sent) {
    progress.push_back(sent);
    return Status::Ok();
  };
  auto uploaded = UploadFile(*client, big_key, tmp.path / "big.bin", Sha256Hex(big), options);
  INFO(uploaded.status().ToString());
  REQUIRE(uploaded.ok());
  CHECK(uploaded->parts == 3);
  CHECK(uploaded->size == big.size());
  CHECK(uploaded->sha256 == Sha256Hex(big));
  CHECK(progress == std::vector<uint64_t>{5 * kMiB, 10 * kMiB, big.size()});
  CHECK(client->counts().post.load() == 2);  // Create, Complete
  CHECK(client->counts().put.load() == 3);   // the parts
  auto got = client->GetObject(big_key);
  REQUIRE(got.ok());
  CHECK(got->size() == big.size());
  CHECK(*got == big);
  auto tail = client->GetRange(big_key, 10 * kMiB - 3, 7);  // across the second part's end
  REQUIRE(tail.ok());
  CHECK(*tail == big.substr(10 * kMiB - 3, 7));
  CHECK(OpenUploads(*client) == 0);

  // Without an expected SHA-256 the result names the one computed while sending.
  auto single = UploadFile(*client, small_key, tmp.path / "small.bin", std::nullopt, SmallParts());
  REQUIRE(single.ok());
  CHECK(single->parts == 0);
  CHECK(single->sha256 == Sha256Hex(small));
  CHECK(client->counts().post.load() == 2);  // no multipart for it
  CHECK(ValueOr(client->GetObject(small_key), std::string()) == small);

  // Exactly two parts' worth: the last read finds the end, no empty third part.
  const std::string even = RandomBytes(10 * kMiB, 3);
  WriteFile(tmp.path / "even.bin", even);
  auto two = UploadFile(*client, client->location().Key("even"), tmp.path / "even.bin", Sha256Hex(even), SmallParts());
  REQUIRE(two.ok());
  CHECK(two->parts == 2);
  CHECK(ValueOr(client->GetObject(client->location().Key("even")), std::string()) == even);
}

TEST_CASE("an upload that fails midway is aborted: no object, no unfinished upload left", "[s3][rgw][multipart]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  runicorn::testing::ScratchDir tmp("multipart");
  auto client = NewBucket(rgw, "mp-abort");
  const std::string big = RandomBytes(12 * kMiB, 4);
  const fs::path file = tmp.path / "big.bin";
  WriteFile(file, big);
  const std::string key = client->location().Key("big");

  SECTION("the file shrinks after the first part (a writer rewrote it): Busy, aborted") {
    FileUploadOptions options = SmallParts();
    options.progress = [&](uint64_t sent) {
      if (sent == 5 * kMiB) fs::resize_file(file, 7 * kMiB);
      return Status::Ok();
    };
    auto uploaded = UploadFile(*client, key, file, Sha256Hex(big), options);
    CHECK(uploaded.status().code() == StatusCode::kBusy);
    CHECK(uploaded.status().message() ==
          fmt::format("{} changed while it was uploaded ({} bytes read, SHA-256 {} instead of {}); not committed",
                      file.string(), 7 * kMiB, Sha256Hex(big.substr(0, 7 * kMiB)), Sha256Hex(big)));
    CHECK(client->counts().put.load() == 2);  // both parts went up before the hash told
  }
  SECTION("the expected SHA-256 is not the file's: nothing committed") {
    auto uploaded = UploadFile(*client, key, file, std::string(64, 'a'), SmallParts());
    CHECK(uploaded.status().code() == StatusCode::kBusy);
  }
  SECTION("a cancel after the second part") {
    FileUploadOptions options = SmallParts();
    options.progress = [&](uint64_t sent) {
      return sent >= 10 * kMiB ? Status::Busy("the viewer is stopping") : Status::Ok();
    };
    auto uploaded = UploadFile(*client, key, file, Sha256Hex(big), options);
    CHECK(uploaded.status().ToString() == "busy: the viewer is stopping");
    CHECK(client->counts().put.load() == 2);
  }
  SECTION("the server refuses a part (its upload was aborted under it): that error, nothing left") {
    FileUploadOptions options = SmallParts();
    options.progress = [&](uint64_t sent) {
      if (sent == 5 * kMiB) {
        auto open = client->ListMultipartUploads(key);
        REQUIRE(open.ok());
        REQUIRE(open->size() == 1);
        REQUIRE(client->AbortMultipartUpload(key, (*open)[0].upload_id).ok());
      }
      return Status::Ok();
    };
    auto uploaded = UploadFile(*client, key, file, Sha256Hex(big), options);
    CHECK(uploaded.status().code() == StatusCode::kNotFound);
    CHECK(uploaded.status().message() ==
          fmt::format("s3: UploadPart {}/{}: HTTP 404 NoSuchUpload", client->location().bucket, key));
  }
  SECTION("a single PUT whose bytes are not the expected ones is never sent") {
    FileUploadOptions options;  // 64 MiB threshold: one PUT
    auto uploaded = UploadFile(*client, key, file, std::string(64, 'b'), options);
    CHECK(uploaded.status().code() == StatusCode::kBusy);
    CHECK(client->counts().put.load() == 0);
  }
  CHECK(client->HeadObject(key).status().code() == StatusCode::kNotFound);
  CHECK(OpenUploads(*client) == 0);
}

TEST_CASE("file uploads refuse bad options and unreadable files before touching the bucket", "[s3][rgw][multipart]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  runicorn::testing::ScratchDir tmp("multipart");
  auto client = NewBucket(rgw, "mp-bad");
  WriteFile(tmp.path / "f.bin", "abc");
  const std::string key = client->location().Key("f");
  FileUploadOptions tiny_parts;
  tiny_parts.part_size = 5 * kMiB - 1;
  CHECK(UploadFile(*client, key, tmp.path / "f.bin", std::nullopt, tiny_parts).status().ToString() ==
        "invalid_argument: s3 upload: part_size must be at least 5242880 bytes (S3's minimum)");
  FileUploadOptions no_threshold;
  no_threshold.multipart_threshold = 0;
  CHECK(UploadFile(*client, key, tmp.path / "f.bin", std::nullopt, no_threshold).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(UploadFile(*client, key, tmp.path / "missing.bin", std::nullopt).status().ToString() ==
        fmt::format("io_error: cannot open {}", (tmp.path / "missing.bin").string()));
  fs::create_symlink(tmp.path / "f.bin", tmp.path / "link.bin");
  CHECK(UploadFile(*client, key, tmp.path / "link.bin", std::nullopt).status().code() == StatusCode::kIOError);
  CHECK(UploadFile(*client, key, tmp.path, std::nullopt).status().code() == StatusCode::kIOError);
  CHECK(client->counts().put.load() + client->counts().post.load() == 0);
  CHECK(client->HeadObject(key).status().code() == StatusCode::kNotFound);
}

TEST_CASE("unfinished multipart uploads older than the limit are aborted, younger ones kept", "[s3][rgw][multipart]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  auto client = NewBucket(rgw, "mp-stale");
  const std::string a = client->location().Key("runfiles/r1/a"), other = client->location().Key("elsewhere/b");
  REQUIRE(client->CreateMultipartUpload(a).ok());
  REQUIRE(client->CreateMultipartUpload(other).ok());
  const std::string prefix = client->location().Key("runfiles/");
  const double now = static_cast<double>(::time(nullptr));
  auto young = runicorn::service::s3::AbortStaleMultipartUploads(*client, prefix, now, 3600);
  REQUIRE(young.ok());
  CHECK(*young == 0);
  CHECK(OpenUploads(*client) == 2);
  auto old = runicorn::service::s3::AbortStaleMultipartUploads(*client, prefix, now + 7200, 3600);
  REQUIRE(old.ok());
  CHECK(*old == 1);
  auto left = client->ListMultipartUploads(client->location().Key(""));
  REQUIRE(left.ok());
  REQUIRE(left->size() == 1);
  CHECK((*left)[0].key == other);  // outside the prefix: not ours to judge
}

#ifdef RUNICORN_HAVE_PG

TEST_CASE("the run file publisher publishes a run file over the multipart threshold with its SHA-256 row",
          "[s3][rgw][pg][multipart][run_files]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  RUNICORN_PG_TEST_SERVER(pg);
  const std::string conninfo = pg.NewDatabase();
  REQUIRE_FALSE(conninfo.empty());
  runicorn::testing::ScratchDir tmp("multipart");
  auto client = NewBucket(rgw, "mp-runfiles");
  const fs::path root = tmp.path / "store";
  const std::string big = RandomBytes(12 * kMiB + 5, 5);
  std::string id;
  {
    auto store = runtrack::testing::OpenStore(root);
    auto run = runtrack::testing::NewRun(*store);
    id = run->id();
    REQUIRE(run->LogText("hello").ok());
    WriteFile(runtrack::StoreLayout(root).media_dir(id) / "checkpoint.bin", big);
    REQUIRE(run->Finish().ok());
  }
  auto storage = runicorn::service::EmbeddedStorage::Open(root);
  REQUIRE(storage.ok());
  runtrack::testing::Index((*storage)->catalog());
  auto index = runicorn::service::pg::PgRunFiles::Open(conninfo);
  REQUIRE(index.ok());
  std::shared_ptr<runicorn::service::s3::RunFileIndex> shared_index(std::move(*index));
  runicorn::service::s3::RunFilePublisher publisher(client, shared_index, root, **storage, SmallParts());
  auto report = publisher.Publish();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  CHECK(report->skipped.empty());
  CHECK(report->runs_published == 1);
  CHECK(report->stale_uploads_aborted == 0);

  auto set = shared_index->ReadSet(id);
  REQUIRE(set.ok());
  REQUIRE(set->has_value());
  const runicorn::service::s3::RunFileRow* row = nullptr;
  for (const auto& f : (*set)->files)
    if (f.path == "media/checkpoint.bin") row = &f;
  REQUIRE(row != nullptr);
  CHECK(row->size == big.size());
  CHECK(row->sha256 == Sha256Hex(big));
  CHECK(row->object_key == runicorn::service::s3::RunFileObjectKey(client->location(), id, Sha256Hex(big)));
  auto head = client->HeadObject(row->object_key);
  REQUIRE(head.ok());
  CHECK(head->size == big.size());
  CHECK(head->etag.substr(head->etag.size() - 2) == "-3");  // three parts
  CHECK(ValueOr(client->GetObject(row->object_key), std::string()) == big);
  CHECK(OpenUploads(*client) == 0);
}

#endif
