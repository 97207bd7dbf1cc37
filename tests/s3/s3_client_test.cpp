// The S3 client against a real Ceph RGW on loopback (rgw_test_server.h): exact bytes through
// every call, paging, and the error mapping, including a wrong secret that must not leak.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "rgw_test_server.h"
#include "service/s3/s3_client.h"

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
