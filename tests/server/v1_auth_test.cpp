// Unit tests of the /api/v1 building blocks: base64url, HS256 tokens, the user store and its
// files, the multipart parser and the per-user rate limiter.
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include <catch2/catch.hpp>

#include "runtrack/layout.h"
#include "server/multipart.h"
#include "server/v1_rate_limits.h"
#include "service/jwt.h"
#include "service/user_store.h"
#include "test_support.h"

namespace runicorn::testing {
namespace {

unsigned Mode(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("v1 base64url: RFC 4648 vectors without padding, strict decoding", "[v1][unit]") {
  CHECK(service::Base64UrlEncode("") == "");
  CHECK(service::Base64UrlEncode("f") == "Zg");
  CHECK(service::Base64UrlEncode("fo") == "Zm8");
  CHECK(service::Base64UrlEncode("foo") == "Zm9v");
  CHECK(service::Base64UrlEncode("foob") == "Zm9vYg");
  CHECK(service::Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(*service::Base64UrlDecode("Zm9vYg") == "foob");
  CHECK(*service::Base64UrlDecode("-_8") == "\xfb\xff");
  CHECK(!service::Base64UrlDecode("Zm9vYg==").ok());  // padding
  CHECK(!service::Base64UrlDecode("+/8").ok());       // the other alphabet
  CHECK(!service::Base64UrlDecode("Z").ok());         // impossible length
  CHECK(!service::Base64UrlDecode("Zh").ok());        // non-zero leftover bits
}

TEST_CASE("v1 tokens: issue and verify, and every refusal reason", "[v1][unit]") {
  service::TokenIssuer issuer(std::string(32, 'a'));
  service::UserInfo ada{"ada", "00112233445566778899aabbccddeeff", "2026-01-01T00:00:00Z"};
  auto t = issuer.Issue(ada, 1000);
  CHECK(t.expires_in == 3600);
  auto claims = issuer.Verify(t.token, 1000);
  REQUIRE(claims.ok());
  CHECK(claims->sub == "ada");
  CHECK(claims->uid == ada.id);
  CHECK(claims->iat == 1000);
  CHECK(claims->exp == 4600);
  CHECK(issuer.Verify(t.token, 4599).ok());
  CHECK(issuer.Verify(t.token, 4600).status().message() == "token expired");
  service::TokenIssuer other(std::string(32, 'b'));
  CHECK(other.Verify(t.token, 1000).status().message() == "bad token signature");
  const std::string payload = R"({"sub":"ada","uid":"x","iat":1000,"exp":9999})";
  CHECK(issuer.Verify(issuer.SignRaw(R"({"alg":"none"})", payload), 1000).status().message() ==
        "unsupported token algorithm");
  CHECK(issuer.Verify(issuer.SignRaw(R"({"alg":"RS256"})", payload), 1000).status().message() ==
        "unsupported token algorithm");
  CHECK(issuer.Verify(issuer.SignRaw(R"({"typ":"JWT"})", payload), 1000).status().message() ==
        "unsupported token algorithm");
  CHECK(issuer.Verify(issuer.SignRaw(R"({"alg":"HS256"})", R"({"sub":"ada"})"), 1000).status().message() ==
        "malformed token");
  CHECK(issuer.Verify("a.b", 1000).status().message() == "malformed token");
  CHECK(issuer.Verify("a.b.c.d", 1000).status().message() == "malformed token");
  CHECK(issuer.Verify(t.token + "A", 1000).status().message() == "bad token signature");
}

TEST_CASE("v1 token key: created once with mode 0600 and reused", "[v1][unit]") {
  runtrack::testing::TempDir dir;
  runtrack::StoreLayout layout(dir.path());
  auto a = service::TokenIssuer::Open(layout);
  REQUIRE(a.ok());
  CHECK(Mode(layout.token_key_path()) == 0600);
  auto b = service::TokenIssuer::Open(layout);
  REQUIRE(b.ok());
  service::UserInfo u{"ada", "id", ""};
  CHECK(b->Verify(a->Issue(u, 10).token, 10).ok());
}

TEST_CASE("v1 user store: salted PBKDF2 hashes in a 0600 file", "[v1][unit]") {
  runtrack::testing::TempDir dir;
  runtrack::StoreLayout layout(dir.path());
  service::UserStore users(layout);
  CHECK(users.List()->empty());
  auto ada = users.Add("ada", "correct-horse");
  REQUIRE(ada.ok());
  CHECK(Mode(layout.users_path()) == 0600);
  CHECK(ada->id.size() == 32);
  auto bob = users.Add("bob", "correct-horse");
  REQUIRE(bob.ok());
  // Same password, different salts: the file never shows two equal hashes.
  std::ifstream in(layout.users_path());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("correct-horse") == std::string::npos);
  CHECK(text.find("\"iterations\":210000") != std::string::npos);
  auto ok = users.Authenticate("ada", "correct-horse");
  REQUIRE(ok.ok());
  REQUIRE(ok->has_value());
  CHECK((*ok)->name == "ada");
  CHECK(!users.Authenticate("ada", "correct-horsE")->has_value());
  CHECK(!users.Authenticate("carol", "correct-horse")->has_value());
  CHECK(users.Add("ada", "another-pass").status().message() == "user 'ada' already exists");
  CHECK(users.Add("../x", "another-pass").status().code() == runtrack::StatusCode::kInvalidArgument);
  CHECK(users.Add("carol", "short").status().message() == "Password too short: use at least 8 characters");
  CHECK(users.Find("ada", ada->id)->has_value());
  REQUIRE(users.Remove("ada").ok());
  CHECK(!users.Find("ada", ada->id)->has_value());
  CHECK(users.Remove("ada").message() == "user 'ada' does not exist");
  auto again = users.Add("ada", "correct-horse");
  REQUIRE(again.ok());
  CHECK(again->id != ada->id);
  CHECK(!users.Find("ada", ada->id)->has_value());
  auto names = users.List();
  REQUIRE(names->size() == 2);
  CHECK(names->at(0).name == "ada");
  CHECK(names->at(1).name == "bob");
}

TEST_CASE("v1 user store: a corrupt file is an error, not an empty user list", "[v1][unit]") {
  runtrack::testing::TempDir dir;
  runtrack::StoreLayout layout(dir.path());
  std::ofstream(layout.users_path()) << "{\"version\":1,\"users\":[{\"name\":\"ada\"}]}";
  service::UserStore users(layout);
  CHECK(users.List().status().code() == runtrack::StatusCode::kCorruption);
  CHECK(users.Authenticate("ada", "x").status().code() == runtrack::StatusCode::kCorruption);
}

TEST_CASE("v1 multipart: fields, files, quoting and malformed bodies", "[v1][unit]") {
  CHECK(*server::MultipartBoundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(*server::MultipartBoundary("Multipart/Form-Data; boundary=\"a b\"") == "a b");
  CHECK(!server::MultipartBoundary("multipart/form-data").ok());
  CHECK(!server::MultipartBoundary("application/json; boundary=abc").ok());
  CHECK(!server::MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')).ok());

  const std::string body =
      "preamble\r\n--XY\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nqa\r\n"
      "--XY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n"
      "Content-Type: application/json\r\n\r\n[1,\r\n--X]\r\n--XY--\r\nepilogue";
  auto parts = server::ParseMultipart(body, "XY");
  REQUIRE(parts.ok());
  REQUIRE(parts->size() == 2);
  CHECK((*parts)[0].name == "name");
  CHECK((*parts)[0].body == "qa");
  CHECK(!(*parts)[0].filename);
  CHECK((*parts)[1].name == "file");
  CHECK(*(*parts)[1].filename == "../../etc/passwd");
  CHECK((*parts)[1].content_type == "application/json");
  CHECK((*parts)[1].body == "[1,\r\n--X]");

  CHECK(server::ParseMultipart("--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx", "XY").status().message() ==
        "multipart body does not end with its closing boundary");
  CHECK(server::ParseMultipart("--XY\r\nContent-Type: text/plain\r\n\r\nx\r\n--XY--", "XY").status().message() ==
        "multipart part without Content-Disposition: form-data; name=...");
  CHECK(server::ParseMultipart("--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                               "--XY\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--XY--",
                               "XY")
            .status()
            .message() == "multipart field 'a' is given twice");
  CHECK(server::ParseMultipart("nothing here", "XY").status().message() == "multipart body has no boundary line");
  std::string many;
  for (int i = 0; i < 3; ++i)
    many += "--XY\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) + "\"\r\n\r\nv\r\n";
  many += "--XY--";
  CHECK(server::ParseMultipart(many, "XY", 2).status().message() == "multipart body has more than 2 parts");
  CHECK(server::ParseMultipart(many, "XY", 3)->size() == 3);
}

TEST_CASE("v1 rate limiter: fixed windows per class and key", "[v1][unit]") {
  int64_t now = 1000;
  server::V1RateLimiter limiter([&] { return now; });
  for (int i = 0; i < 10; ++i) REQUIRE(limiter.Check(server::V1RateClass::kTraining, "user:a").allowed);
  auto d = limiter.Check(server::V1RateClass::kTraining, "user:a");
  CHECK(!d.allowed);
  CHECK(d.limit == 10);
  CHECK(d.remaining == 0);
  CHECK(d.reset_at == 4600);
  CHECK(limiter.Check(server::V1RateClass::kTraining, "user:b").allowed);
  CHECK(limiter.Check(server::V1RateClass::kOther, "user:a").remaining == 119);
  now = 4600;
  auto fresh = limiter.Check(server::V1RateClass::kTraining, "user:a");
  CHECK(fresh.allowed);
  CHECK(fresh.remaining == 9);
  CHECK(server::V1RateClassFor({"api", "v1", "generate", "batch"}) == server::V1RateClass::kInference);
  CHECK(server::V1RateClassFor({"api", "v1", "train"}) == server::V1RateClass::kTraining);
  CHECK(server::V1RateClassFor({"api", "v1", "train", "status", "x"}) == server::V1RateClass::kOther);
  CHECK(server::V1RateClassFor({"api", "v1", "train", "cancel", "x"}) == server::V1RateClass::kOther);
  CHECK(server::V1RateClassFor({"api", "v1", "datasets"}) == server::V1RateClass::kOther);
}

}  // namespace runicorn::testing
