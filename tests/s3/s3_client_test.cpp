// The S3 client against a real Ceph RGW on loopback (rgw_test_server.h): exact bytes through
// every call, paging, and the error mapping, including a wrong secret that must not leak.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "rgw_test_server.h"
#include "service/s3/s3_client.h"
#include "service/s3/s3_multipart.h"

namespace {

using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Credentials;
using runicorn::service::s3::S3Location;
using runtrack::StatusCode;

S3Location Location(const runicorn::testing::RgwTestServer& server, std::string bucket, std::string prefix = "") {
  S3Location loc;
  loc.bucket = std::move(bucket);
  loc.prefix = std::move(prefix);
  loc.endpoint = server.endpoint();
  return loc;
}

S3Credentials GoodCredentials() {
  return {runicorn::testing::RgwTestServer::kAccessKey, runicorn::testing::RgwTestServer::kSecretKey, ""};
}

std::string NewBucketName() {
  static std::atomic<int> n{0};
  return fmt::format("rt-client-{}-{}", ::getpid(), n++);
}

// Every byte value, so an encoding or text-mode mistake shows.
// The value of `r`, or `fallback` when it failed (so a CHECK shows the comparison either way).
template <typename T>
T ValueOr(runtrack::Result<T> r, T fallback) {
  return r.ok() ? std::move(r).value() : std::move(fallback);
}

std::string BinaryBytes(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 256) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("S3 client round trips, paging and errors against Ceph RGW", "[s3][rgw]") {
  RUNICORN_S3_TEST_SERVER(server);
  S3Client client(Location(server, NewBucketName()), GoodCredentials());
  {
    auto created = client.CreateBucket();
    INFO(created.ToString());
    REQUIRE(created.ok());
  }
  REQUIRE(client.CheckBucket().ok());

  SECTION("put, get, ranged get, streamed get, head, delete with exact bytes") {
    const std::string bytes = BinaryBytes(3 * 1024 * 1024 + 17);
    REQUIRE(client.PutObject("dir/blob one.bin", bytes).ok());
    // Idempotent by key: a second PUT of the same bytes is fine.
    REQUIRE(client.PutObject("dir/blob one.bin", bytes).ok());

    auto got = client.GetObject("dir/blob one.bin");
    REQUIRE(got.ok());
    CHECK(*got == bytes);

    auto range = client.GetRange("dir/blob one.bin", 1000, 5000);
    REQUIRE(range.ok());
    CHECK(*range == bytes.substr(1000, 5000));
    auto tail = client.GetRange("dir/blob one.bin", bytes.size() - 10, 100);
    REQUIRE(tail.ok());
    CHECK(*tail == bytes.substr(bytes.size() - 10));

    std::string streamed;
    size_t pieces = 0;
    REQUIRE(client.GetObject("dir/blob one.bin", [&](std::string_view piece) {
      streamed.append(piece);
      ++pieces;
      return true;
    }).ok());
    CHECK(streamed == bytes);
    CHECK(pieces > 1);

    auto aborted = client.GetObject("dir/blob one.bin", [](std::string_view) { return false; });
    CHECK(aborted.code() == StatusCode::kIOError);
    CHECK(aborted.message().find("aborted by the receiver") != std::string::npos);

    auto head = client.HeadObject("dir/blob one.bin");
    REQUIRE(head.ok());
    CHECK(head->size == bytes.size());
    CHECK(head->etag.size() == 32);  // MD5 of a single-part upload

    REQUIRE(client.PutObject("empty", "").ok());
    auto empty = client.GetObject("empty");
    REQUIRE(empty.ok());
    CHECK(empty->empty());

    REQUIRE(client.DeleteObject("dir/blob one.bin").ok());
    auto gone = client.GetObject("dir/blob one.bin");
    REQUIRE_FALSE(gone.ok());
    CHECK(gone.status().code() == StatusCode::kNotFound);
    CHECK(gone.status().message() ==
          fmt::format("s3: GetObject {}/dir/blob one.bin: HTTP 404 NoSuchKey", client.location().bucket));
    auto gone_head = client.HeadObject("dir/blob one.bin");
    REQUIRE_FALSE(gone_head.ok());
    CHECK(gone_head.status().code() == StatusCode::kNotFound);
    // Deleting an absent key succeeds, as in S3.
    CHECK(client.DeleteObject("dir/blob one.bin").ok());
  }

  SECTION("consecutive requests reuse one kept-alive connection; without reuse each opens one") {
    REQUIRE(client.PutObject("reuse/k", "v").ok());
    const uint64_t before = client.counts().connections.load();
    for (int i = 0; i < 10; ++i) REQUIRE(client.HeadObject("reuse/k").ok());
    CHECK(client.counts().connections.load() - before == 0);  // the PUT's connection, still open

    runicorn::service::s3::S3ClientOptions no_reuse;
    no_reuse.reuse_connections = false;
    S3Client fresh(client.location(), GoodCredentials(), no_reuse);
    for (int i = 0; i < 10; ++i) REQUIRE(fresh.HeadObject("reuse/k").ok());
    CHECK(fresh.counts().connections.load() == 10);
    CHECK(fresh.counts().head.load() == 10);
  }

  SECTION("list pages through every key under a prefix, in order") {
    for (int i = 0; i < 7; ++i) REQUIRE(client.PutObject(fmt::format("p/k{}", i), fmt::format("v{}", i)).ok());
    REQUIRE(client.PutObject("q/other", "x").ok());
    auto first = client.ListObjects("p/", "", 3);
    REQUIRE(first.ok());
    REQUIRE(first->objects.size() == 3);
    CHECK(first->objects[0].key == "p/k0");
    CHECK(first->objects[2].key == "p/k2");
    CHECK(first->objects[0].size == 2);
    CHECK_FALSE(first->next_token.empty());
    auto second = client.ListObjects("p/", first->next_token, 3);
    REQUIRE(second.ok());
    REQUIRE(second->objects.size() == 3);
    CHECK(second->objects[0].key == "p/k3");

    auto all = client.ListAll("p/");
    REQUIRE(all.ok());
    REQUIRE(all->size() == 7);
    for (int i = 0; i < 7; ++i) CHECK((*all)[i].key == fmt::format("p/k{}", i));
    auto none = client.ListAll("nothing/");
    REQUIRE(none.ok());
    CHECK(none->empty());
  }

  SECTION("a wrong secret is a clear FailedPrecondition that does not contain the secret") {
    REQUIRE(client.PutObject("secret-test", "abc").ok());
    const std::string wrong = "wrong-secret-value-1234567890";
    S3Client bad(client.location(), {runicorn::testing::RgwTestServer::kAccessKey, wrong, ""});
    auto got = bad.GetObject("secret-test");
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().code() == StatusCode::kFailedPrecondition);
    CHECK(got.status().message() ==
          fmt::format("s3: GetObject {}/secret-test: HTTP 403 SignatureDoesNotMatch (check the S3 credentials and "
                      "the bucket's policy)",
                      client.location().bucket));
    CHECK(got.status().message().find(wrong) == std::string::npos);
    CHECK(got.status().message().find(runicorn::testing::RgwTestServer::kSecretKey) == std::string::npos);
    auto put = bad.PutObject("secret-test", "overwritten?");
    CHECK(put.code() == StatusCode::kFailedPrecondition);
    // The refused PUT changed nothing.
    auto still = client.GetObject("secret-test");
    REQUIRE(still.ok());
    CHECK(*still == "abc");

    S3Client unknown(client.location(), {"NOSUCHKEYID", wrong, ""});
    auto denied = unknown.GetObject("secret-test");
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.status().code() == StatusCode::kFailedPrecondition);
    CHECK(denied.status().message() ==
          fmt::format("s3: GetObject {}/secret-test: HTTP 403 InvalidAccessKeyId (check the S3 credentials and "
                      "the bucket's policy)",
                      client.location().bucket));
  }

  SECTION("a missing bucket is NotFound; a dead endpoint is an IOError after retries") {
    S3Client nobucket(Location(server, "rt-no-such-bucket"), GoodCredentials());
    auto missing = nobucket.GetObject("k");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().code() == StatusCode::kNotFound);
    CHECK(missing.status().message() == "s3: GetObject rt-no-such-bucket/k: HTTP 404 NoSuchBucket");

    S3Location dead = client.location();
    dead.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
    runicorn::service::s3::S3ClientOptions opts;
    opts.max_attempts = 2;
    S3Client offline(dead, GoodCredentials(), opts);
    auto down = offline.GetObject("k");
    REQUIRE_FALSE(down.ok());
    CHECK(down.status().code() == StatusCode::kIOError);
    CHECK(down.status().message().rfind(
              fmt::format("s3: GetObject {}/k at http://127.0.0.1:1: ", client.location().bucket), 0) == 0);
    CHECK(offline.counts().get.load() == 2);  // retried once
  }

  SECTION("invalid keys never reach the server") {
    CHECK(client.PutObject("", "x").code() == StatusCode::kInvalidArgument);
    CHECK(client.PutObject("a\nb", "x").code() == StatusCode::kInvalidArgument);
    CHECK(client.counts().put.load() == 0);
  }
}

// The multipart answers' parsers, without a server: well-formed answers as RGW and AWS send them,
// then each way an answer can be garbled, refused with Corruption naming what was wrong.
TEST_CASE("S3 multipart answers are parsed strictly, malformed ones refused", "[s3][multipart]") {
  using namespace runicorn::service::s3;
  const std::string decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  SECTION("CreateMultipartUpload") {
    auto id = ParseCreateMultipartUploadAnswer(
        decl + "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
               "<Key>team/runfiles/r1/a&amp;b</Key><UploadId>2~Xy-Z_9.abc</UploadId></InitiateMultipartUploadResult>",
        "team/runfiles/r1/a&b");
    REQUIRE(id.ok());
    CHECK(*id == "2~Xy-Z_9.abc");
    // No Key element: accepted (the id is what matters).
    CHECK(ValueOr(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
                                                   "</InitiateMultipartUploadResult>", "k"),
                std::string()) == "u1");

    auto other_root = ParseCreateMultipartUploadAnswer("<Error><Code>X</Code></Error>", "k");
    CHECK(other_root.status().ToString() ==
          "corruption: s3: CreateMultipartUpload k: the answer is not an InitiateMultipartUploadResult: "
          "<Error><Code>X</Code></Error>");
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResultX><UploadId>u</UploadId>"
                                           "</InitiateMultipartUploadResultX>", "k").status().code() ==
          StatusCode::kCorruption);
    CHECK(ParseCreateMultipartUploadAnswer("", "k").status().code() == StatusCode::kCorruption);
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><Key>k</Key>"
                                           "</InitiateMultipartUploadResult>", "k").status().message() ==
          "s3: CreateMultipartUpload k: the answer has no UploadId");
    const std::string unprintable = "s3: CreateMultipartUpload k: the answer's UploadId is empty, too long or not printable";
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId></UploadId>"
                                           "</InitiateMultipartUploadResult>", "k").status().message() == unprintable);
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId>a b</UploadId>"
                                           "</InitiateMultipartUploadResult>", "k").status().message() == unprintable);
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId>a&amp;b</UploadId>"
                                           "</InitiateMultipartUploadResult>", "k").status().message() == unprintable);
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId>" + std::string(1025, 'a') +
                                           "</UploadId></InitiateMultipartUploadResult>", "k").status().message() ==
          unprintable);
    // An unclosed element is no element.
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><UploadId>abc", "k").status().message() ==
          "s3: CreateMultipartUpload k: the answer has no UploadId");
    CHECK(ParseCreateMultipartUploadAnswer("<InitiateMultipartUploadResult><Key>other</Key><UploadId>u</UploadId>"
                                           "</InitiateMultipartUploadResult>", "k").status().ToString() ==
          "corruption: s3: CreateMultipartUpload k: the answer names another key (other)");
  }
  SECTION("UploadPart's ETag") {
    CHECK(ValueOr(CheckUploadPartETag("9b2cf535f27731c974343645a3985328"), std::string()) ==
          "9b2cf535f27731c974343645a3985328");
    CHECK(CheckUploadPartETag("").status().ToString() == "corruption: s3: UploadPart answered without an ETag");
    CHECK(CheckUploadPartETag("a\"b").status().ToString() ==
          "corruption: s3: UploadPart answered a malformed ETag (3 bytes)");
    CHECK(CheckUploadPartETag("a\rb").status().code() == StatusCode::kCorruption);
    CHECK(CheckUploadPartETag(std::string(257, 'e')).status().code() == StatusCode::kCorruption);
  }
  SECTION("the CompleteMultipartUpload body and answer") {
    auto body = FormatCompleteMultipartUpload({{1, "e1"}, {2, "e2"}, {5, "e5"}});
    REQUIRE(body.ok());
    CHECK(*body ==
          "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag></Part>"
          "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag></Part>"
          "<Part><PartNumber>5</PartNumber><ETag>\"e5\"</ETag></Part></CompleteMultipartUpload>");
    CHECK(FormatCompleteMultipartUpload({}).status().ToString() ==
          "invalid_argument: s3: CompleteMultipartUpload needs at least one part");
    CHECK(FormatCompleteMultipartUpload({{2, "a"}, {2, "b"}}).status().ToString() ==
          "invalid_argument: s3: CompleteMultipartUpload: part numbers must ascend within 1..10000 (part 2 after 2)");
    CHECK(FormatCompleteMultipartUpload({{0, "a"}}).status().code() == StatusCode::kInvalidArgument);
    CHECK(FormatCompleteMultipartUpload({{10001, "a"}}).status().code() == StatusCode::kInvalidArgument);
    CHECK(FormatCompleteMultipartUpload({{1, ""}}).status().ToString() ==
          "invalid_argument: s3: CompleteMultipartUpload: part 1 has no valid ETag");
    CHECK(FormatCompleteMultipartUpload({{1, "<x>"}}).status().code() == StatusCode::kInvalidArgument);

    CHECK(CheckCompleteMultipartUploadAnswer(
              decl + "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Location>x</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"abc-3\"</ETag>"
                     "</CompleteMultipartUploadResult>").ok());
    // The 200 that S3 sends before it assembled the parts, then the failure in the body.
    CHECK(CheckCompleteMultipartUploadAnswer(decl + "\n  <Error><Code>InternalError</Code><Message>We encountered an "
                                                    "internal error. Please try again.</Message></Error>").ToString() ==
          "io_error: s3: CompleteMultipartUpload failed after HTTP 200: InternalError: We encountered an internal "
          "error. Please try again.");
    CHECK(CheckCompleteMultipartUploadAnswer("<Error></Error>").ToString() ==
          "io_error: s3: CompleteMultipartUpload failed after HTTP 200: no error code");
    CHECK(CheckCompleteMultipartUploadAnswer("").ToString() ==
          "corruption: s3: CompleteMultipartUpload: the answer is not a CompleteMultipartUploadResult: ");
    CHECK(CheckCompleteMultipartUploadAnswer("<?xml version=\"1.0\"").code() == StatusCode::kCorruption);
    CHECK(CheckCompleteMultipartUploadAnswer("garbage <CompleteMultipartUploadResult>").code() ==
          StatusCode::kCorruption);
  }
  SECTION("ListMultipartUploads") {
    auto page = ParseListMultipartUploadsAnswer(
        decl + "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>b</Bucket>"
               "<KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>p/b</NextKeyMarker>"
               "<NextUploadIdMarker>u2</NextUploadIdMarker><MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>"
               "<Upload><Key>p/a&amp;1</Key><UploadId>u1</UploadId><Initiated>2026-12-03T15:04:05.250Z</Initiated>"
               "</Upload><Upload><Key>p/b</Key><UploadId>u2</UploadId></Upload></ListMultipartUploadsResult>");
    REQUIRE(page.ok());
    REQUIRE(page->uploads.size() == 2);
    CHECK(page->uploads[0].key == "p/a&1");
    CHECK(page->uploads[0].upload_id == "u1");
    CHECK(page->uploads[0].initiated == 1796310245.25);
    CHECK(page->uploads[1].initiated == 0);
    CHECK(page->next_key_marker == "p/b");
    CHECK(page->next_upload_id_marker == "u2");
    auto last = ParseListMultipartUploadsAnswer("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                                                "</ListMultipartUploadsResult>");
    REQUIRE(last.ok());
    CHECK(last->uploads.empty());
    CHECK(last->next_key_marker.empty());

    CHECK(ParseListMultipartUploadsAnswer("<ListBucketResult></ListBucketResult>").status().code() ==
          StatusCode::kCorruption);
    CHECK(ParseListMultipartUploadsAnswer("<ListMultipartUploadsResult><Upload><Key>k</Key></Upload>"
                                          "</ListMultipartUploadsResult>").status().ToString() ==
          "corruption: s3: ListMultipartUploads: an Upload without a Key or a valid UploadId");
    CHECK(ParseListMultipartUploadsAnswer("<ListMultipartUploadsResult><Upload><Key></Key><UploadId>u</UploadId>"
                                          "</Upload></ListMultipartUploadsResult>").status().code() ==
          StatusCode::kCorruption);
    CHECK(ParseListMultipartUploadsAnswer("<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
                                          "</ListMultipartUploadsResult>").status().ToString() ==
          "corruption: s3: ListMultipartUploads answered IsTruncated without a NextKeyMarker");
    CHECK(ParseListMultipartUploadsAnswer("<ListMultipartUploadsResult><IsTruncated>maybe</IsTruncated>"
                                          "</ListMultipartUploadsResult>").status().ToString() ==
          "corruption: s3: ListMultipartUploads: IsTruncated is 'maybe'");
  }
}

TEST_CASE("S3 client multipart upload against Ceph RGW: exact bytes, refused parts, abort", "[s3][rgw][multipart]") {
  RUNICORN_S3_TEST_SERVER(server);
  S3Client client(Location(server, NewBucketName(), "mp"), GoodCredentials());
  REQUIRE(client.CreateBucket().ok());
  const std::string key = "mp/big one.bin";
  const std::string bytes = BinaryBytes((5u << 20) * 2 + 12345);

  SECTION("three parts (5 MiB, 5 MiB, the rest) make one object of exactly those bytes") {
    auto id = client.CreateMultipartUpload(key);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    auto listed = client.ListMultipartUploads("mp/");
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK((*listed)[0].key == key);
    CHECK((*listed)[0].upload_id == *id);
    CHECK((*listed)[0].initiated > 1.7e9);
    // Not visible until completed.
    CHECK(client.HeadObject(key).status().code() == StatusCode::kNotFound);

    std::vector<runicorn::service::s3::S3CompletedPart> parts;
    for (int n = 1; n <= 3; ++n) {
      const size_t from = static_cast<size_t>(n - 1) * (5u << 20);
      auto etag = client.UploadPart(key, *id, n, std::string_view(bytes).substr(from, 5u << 20));
      INFO(etag.status().ToString());
      REQUIRE(etag.ok());
      CHECK(etag->size() == 32);  // the part's MD5
      parts.push_back({n, *etag});
    }
    // A part sent again (a retry) replaces itself.
    auto again = client.UploadPart(key, *id, 3, std::string_view(bytes).substr(2 * (5u << 20)));
    REQUIRE(again.ok());
    CHECK(*again == parts[2].etag);
    auto done = client.CompleteMultipartUpload(key, *id, parts);
    INFO(done.ToString());
    REQUIRE(done.ok());
    auto got = client.GetObject(key);
    REQUIRE(got.ok());
    CHECK(*got == bytes);
    auto head = client.HeadObject(key);
    REQUIRE(head.ok());
    CHECK(head->size == bytes.size());
    CHECK(head->etag.size() == 34);  // "<md5 of the part md5s>-3"
    CHECK(head->etag.substr(32) == "-3");
    auto none = client.ListMultipartUploads("mp/");
    REQUIRE(none.ok());
    CHECK(none->empty());
  }

  SECTION("a part the server refuses, a too small part at Complete, and an abort that leaves nothing") {
    auto id = client.CreateMultipartUpload(key);
    REQUIRE(id.ok());
    auto first = client.UploadPart(key, *id, 1, std::string_view(bytes).substr(0, 1u << 20));
    auto second = client.UploadPart(key, *id, 2, "tail");
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    // Part 1 is 1 MiB, under S3's 5 MiB minimum for a part that is not the last: refused at Complete.
    auto small = client.CompleteMultipartUpload(key, *id, {{1, *first}, {2, *second}});
    CHECK(small.code() == StatusCode::kInvalidArgument);
    CHECK(small.message() == fmt::format("s3: CompleteMultipartUpload {}/{}: HTTP 400 EntityTooSmall",
                                         client.location().bucket, key));
    // An ETag the server never gave.
    auto wrong = client.CompleteMultipartUpload(key, *id, {{1, "00000000000000000000000000000000"}});
    CHECK(wrong.code() == StatusCode::kInvalidArgument);
    CHECK(wrong.message().find("HTTP 400 InvalidPart") != std::string::npos);
    // A part of an upload id the server does not know.
    auto unknown = client.UploadPart(key, "2~no-such-upload", 1, "x");
    CHECK(unknown.status().code() == StatusCode::kNotFound);
    CHECK(unknown.status().message() ==
          fmt::format("s3: UploadPart {}/{}: HTTP 404 NoSuchUpload", client.location().bucket, key));
    CHECK(client.UploadPart(key, *id, 0, "x").status().code() == StatusCode::kInvalidArgument);
    CHECK(client.UploadPart(key, *id, 10001, "x").status().code() == StatusCode::kInvalidArgument);
    CHECK(client.HeadObject(key).status().code() == StatusCode::kNotFound);

    auto open = client.ListMultipartUploads("mp/");
    REQUIRE(open.ok());
    REQUIRE(open->size() == 1);
    REQUIRE(client.AbortMultipartUpload(key, *id).ok());
    auto none = client.ListMultipartUploads("mp/");
    REQUIRE(none.ok());
    CHECK(none->empty());
    CHECK(client.HeadObject(key).status().code() == StatusCode::kNotFound);
    // Aborting it again (a retry after a lost answer) is fine; completing it fails (S3 answers
    // NoSuchUpload; RGW 500 "completion is already in progress") and makes no object.
    CHECK(client.AbortMultipartUpload(key, *id).ok());
    CHECK_FALSE(client.CompleteMultipartUpload(key, *id, {{1, *first}}).ok());
    CHECK(client.HeadObject(key).status().code() == StatusCode::kNotFound);
  }
}
