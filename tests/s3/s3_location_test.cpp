// --objects URL parsing and credential lookup: no server needed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "service/s3/s3_credentials.h"
#include "service/s3/s3_location.h"
#include "service/s3/object_chunk_store.h"

using runicorn::service::s3::LoadS3Credentials;
using runicorn::service::s3::ParseS3Url;
using runtrack::StatusCode;

TEST_CASE("s3 URL with endpoint, region and prefix", "[s3][url]") {
  auto loc = ParseS3Url("s3://team-bucket/runicorn/prod/?endpoint=http://127.0.0.1:7480/&region=eu-west-1");
  REQUIRE(loc.ok());
  CHECK(loc->bucket == "team-bucket");
  CHECK(loc->prefix == "runicorn/prod");
  CHECK(loc->endpoint == "http://127.0.0.1:7480");
  CHECK(loc->region == "eu-west-1");
  CHECK(loc->Key("chunks/ab/abc") == "runicorn/prod/chunks/ab/abc");
}

TEST_CASE("s3 URL defaults: no prefix, AWS endpoint of the region", "[s3][url]") {
  auto loc = ParseS3Url("s3://bucket1?region=us-west-2");
  REQUIRE(loc.ok());
  CHECK(loc->prefix.empty());
  CHECK(loc->endpoint == "https://s3.us-west-2.amazonaws.com");
  CHECK(loc->Key("chunks/x") == "chunks/x");
  auto plain = ParseS3Url("s3://bucket1");
  REQUIRE(plain.ok());
  CHECK(plain->region == "us-east-1");
  CHECK(plain->endpoint == "https://s3.us-east-1.amazonaws.com");
}

TEST_CASE("bad s3 URLs are refused with the part that is wrong", "[s3][url]") {
  auto message = [](std::string_view url) {
    auto r = ParseS3Url(url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    return r.status().message();
  };
  CHECK(message("http://bucket/x") == "--objects: expected s3://bucket[/prefix][?endpoint=...&region=...]");
  CHECK(message("s3://ab") == "--objects: bucket name must be 3..63 characters, got 2");
  CHECK(message("s3://Bucket") == "--objects: bucket name may hold only a-z, 0-9, '.' and '-'");
  CHECK(message("s3://-bucket") == "--objects: bucket name must start and end with a letter or digit");
  CHECK(message("s3://bucket/a/../b") == "--objects: the prefix has an empty, \".\" or \"..\" segment");
  CHECK(message("s3://bucket/a//b") == "--objects: the prefix has an empty, \".\" or \"..\" segment");
  CHECK(message("s3://bucket/a%2fb") == "--objects: the prefix may hold only A-Z, a-z, 0-9, '.', '_', '-' and '/'");
  CHECK(message("s3://bucket?endpoint=ftp://host") == "--objects: endpoint must start with http:// or https://");
  CHECK(message("s3://bucket?endpoint=http://user:pw@host") ==
        "--objects: endpoint must be scheme://host[:port] without a path, query or user info");
  CHECK(message("s3://bucket?endpoint=http://host/path") ==
        "--objects: endpoint must be scheme://host[:port] without a path, query or user info");
  CHECK(message("s3://bucket?region=EU") == "--objects: region may hold only a-z, 0-9 and '-'");
  CHECK(message("s3://bucket?region=a&region=b") == "--objects: region given twice");
  CHECK(message("s3://bucket?secret=xyz") ==
        "--objects: unknown parameter \"secret\" (known: endpoint, region; credentials come from "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a credentials file, never the URL)");
}

TEST_CASE("credentials come from the environment first, then the credentials file", "[s3][credentials]") {
  auto env = LoadS3Credentials({{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"},
                                {"AWS_SESSION_TOKEN", "TOK"}, {"HOME", "/nonexistent"}});
  REQUIRE(env.ok());
  CHECK(env->access_key_id == "AK");
  CHECK(env->secret_access_key == "SK");
  CHECK(env->session_token == "TOK");

  auto half = LoadS3Credentials({{"AWS_ACCESS_KEY_ID", "AK"}});
  REQUIRE_FALSE(half.ok());
  CHECK(half.status().code() == StatusCode::kInvalidArgument);
  CHECK(half.status().message() == "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");

  const auto dir = std::filesystem::temp_directory_path() / ("runicorn-s3-cred-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "credentials";
  std::ofstream(file) << "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key=defaultsecret\n"
                         "\n# comment\n[team]\naws_access_key_id=TEAMKEY\naws_secret_access_key = teamsecret\n";
  auto def = LoadS3Credentials({{"AWS_SHARED_CREDENTIALS_FILE", file.string()}});
  REQUIRE(def.ok());
  CHECK(def->access_key_id == "DEFAULTKEY");
  CHECK(def->secret_access_key == "defaultsecret");
  auto team = LoadS3Credentials({{"AWS_SHARED_CREDENTIALS_FILE", file.string()}, {"AWS_PROFILE", "team"}});
  REQUIRE(team.ok());
  CHECK(team->access_key_id == "TEAMKEY");
  CHECK(team->secret_access_key == "teamsecret");

  auto missing_profile = LoadS3Credentials({{"AWS_SHARED_CREDENTIALS_FILE", file.string()}, {"AWS_PROFILE", "x"}});
  REQUIRE_FALSE(missing_profile.ok());
  CHECK(missing_profile.status().code() == StatusCode::kFailedPrecondition);
  CHECK(missing_profile.status().message() ==
        "no S3 credentials: profile [x] of " + file.string() + " lacks aws_access_key_id or aws_secret_access_key");

  auto none = LoadS3Credentials({{"HOME", dir.string()}});
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message() == "no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set and " +
                                       (dir / ".aws" / "credentials").string() + " cannot be read");
  std::filesystem::remove_all(dir);
}

TEST_CASE("chunk digests must be 64 lower-case hex digits", "[s3][url]") {
  using runicorn::service::s3::ObjectChunkStore;
  CHECK(ObjectChunkStore::ValidateDigest(std::string(64, 'a')).ok());
  CHECK_FALSE(ObjectChunkStore::ValidateDigest(std::string(63, 'a')).ok());
  CHECK_FALSE(ObjectChunkStore::ValidateDigest(std::string(64, 'A')).ok());
  CHECK(ObjectChunkStore::ValidateDigest("../" + std::string(61, 'a')).message() ==
        "chunk digests are 64 lower-case hex digits (SHA-256)");
}
