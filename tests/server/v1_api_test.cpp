// /api/v1 (docs/API-v1.md) end to end: login tokens, the error envelope, per-user rate limits and
// datasets, against a real in-process viewer.
#include <algorithm>
#include <ctime>

#include <catch2/catch.hpp>

#include "runtrack/artifacts.h"
#include "service/jwt.h"
#include "v1_test_support.h"

namespace runicorn::testing {
namespace {

namespace json = boost::json;
const json::value kNull(nullptr);

const std::string kQaJson =
    R"([{"instruction":"Say hi","response":"hi"},{"instruction":"Add 1+1","response":"2"},)"
    R"({"instruction":"Capital of France?","response":"Paris"}])";

std::string TenRowsJson() {
  json::array rows;
  for (int i = 0; i < 10; ++i)
    rows.push_back(json::object{{"instruction", "q" + std::to_string(i)}, {"response", "a" + std::to_string(i)}});
  return json::serialize(rows);
}

}  // namespace

TEST_CASE("v1 login returns an HS256 bearer token valid for an hour", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  auto r = c.Post("/api/v1/login", R"({"username":"ada","password":"correct-horse"})");
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.size() == 3);
  CHECK(o.at("expires_in") == json::value(3600));
  CHECK(o.at("token_type") == json::value("Bearer"));
  std::string token(o.at("token").as_string());
  auto header = service::Base64UrlDecode(token.substr(0, token.find('.')));
  REQUIRE(header.ok());
  CHECK(*header == R"({"alg":"HS256","typ":"JWT"})");
  CHECK(r.header("cache-control") == "no-store");
  // The token opens the other routes.
  CHECK(c.Get("/api/v1/datasets", Bearer(token)).status == 200);
}

TEST_CASE("v1 login refuses wrong passwords and unknown users alike", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  auto wrong = c.Post("/api/v1/login", R"({"username":"ada","password":"wrong-horse"})");
  CheckEnvelope(wrong, 401, "UNAUTHORIZED", "Invalid username or password", kNull, "invalid_credentials");
  CHECK(wrong.header("www-authenticate") == "Bearer");
  auto unknown = c.Post("/api/v1/login", R"({"username":"bob","password":"correct-horse"})");
  CheckEnvelope(unknown, 401, "UNAUTHORIZED", "Invalid username or password", kNull, "invalid_credentials");
}

TEST_CASE("v1 bodies: missing, unknown and mistyped fields are 400 with field and reason", "[v1]") {
  TestServer s;
  HttpClient c(s.port());
  CheckEnvelope(c.Post("/api/v1/login", R"({"username":"ada"})"), 400, "INVALID_REQUEST",
                "Field 'password' is required", json::value("password"), "required");
  CheckEnvelope(c.Post("/api/v1/login", R"({"username":"ada","password":"x","remember":true})"), 400,
                "INVALID_REQUEST", "Unknown field 'remember'", json::value("remember"), "unknown_field");
  CheckEnvelope(c.Post("/api/v1/login", R"({"username":"ada","password":12345678})"), 400, "INVALID_REQUEST",
                "Field 'password' must be a string", json::value("password"), "invalid_type");
  CheckEnvelope(c.Post("/api/v1/login", R"({"username":)"), 400, "INVALID_REQUEST",
                "Request body is not valid JSON", kNull, "invalid_json");
  CheckEnvelope(c.Post("/api/v1/login", "[]"), 400, "INVALID_REQUEST", "Request body must be a JSON object", kNull,
                "invalid_json");
  CheckEnvelope(PostRaw(s.port(), "/api/v1/login", "text/plain", "username=ada", ""), 415,
                "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json", json::value("Content-Type"),
                "unsupported_media_type");
}

TEST_CASE("v1 routes need the login token, unknown v1 paths too", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  for (const char* path : {"/api/v1/datasets", "/api/v1/datasets/qa:v1", "/api/v1/nope", "/api/v1"}) {
    auto r = c.Get(path);
    CheckEnvelope(r, 401, "UNAUTHORIZED", "Missing bearer token: log in with POST /api/v1/login", kNull,
                  "missing_token");
    CHECK(r.header("www-authenticate") == "Bearer");
  }
  CheckEnvelope(c.Get("/api/v1/datasets", {{"Authorization", "Basic YWRhOng="}}), 401, "UNAUTHORIZED",
                "Authorization must be 'Bearer <token>'", kNull, "invalid_token");
  std::string token = Login(c, "ada", "correct-horse");
  CheckEnvelope(c.Get("/api/v1/nope", Bearer(token)), 404, "NOT_FOUND", "Not found", kNull, "not_found");
  auto put = c.Request(http::verb::put, "/api/v1/datasets", "{}", Bearer(token));
  CheckEnvelope(put, 405, "METHOD_NOT_ALLOWED", "Method not allowed", kNull, "method_not_allowed");
  CHECK(put.header("allow") == "GET");
  // The viewer's origin checks answer /api/v1 in the envelope too.
  CheckEnvelope(c.Get("/api/v1/datasets", {{"Origin", "http://evil.example"}, {"Authorization", "Bearer " + token}}),
                403, "FORBIDDEN", "Origin not allowed: start the viewer with --allowed-origin ORIGIN to allow it",
                kNull, "origin_refused");
  // The other APIs keep their {"detail"} bodies.
  CHECK(c.Get("/api/nope").json() == json::parse(R"({"detail":"Not Found"})"));
}

TEST_CASE("v1 refuses expired, forged, alg none, malformed and removed-user tokens", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  service::UserRepository& users = *s.ctx().services->users;  // users.json, or PostgreSQL's
  auto issuer = service::TokenIssuer::Open(users);
  REQUIRE(issuer.ok());
  auto list = users.List();
  REQUIRE(list.ok());
  const service::UserInfo ada = list->at(0);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));

  auto expired = issuer->Issue(ada, now - 3601).token;
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(expired)), 401, "UNAUTHORIZED", "Invalid token: token expired",
                kNull, "token_expired");

  const std::string payload = json::serialize(json::object{{"sub", "ada"}, {"uid", ada.id}, {"iat", now}, {"exp", now + 600}});
  service::TokenIssuer other_key(std::string(32, 'k'));
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(other_key.SignRaw(R"({"alg":"HS256","typ":"JWT"})", payload))), 401,
                "UNAUTHORIZED", "Invalid token: bad token signature", kNull, "invalid_token");

  const std::string none = service::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                           service::Base64UrlEncode(payload) + ".";
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(none)), 401, "UNAUTHORIZED",
                "Invalid token: unsupported token algorithm", kNull, "invalid_token");
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer("not.a-token")), 401, "UNAUTHORIZED",
                "Invalid token: malformed token", kNull, "invalid_token");

  // A token of the right key whose payload was edited: the signature no longer matches.
  std::string good = Login(c, "ada", "correct-horse");
  std::string tampered = good.substr(0, good.find('.') + 1) +
                         service::Base64UrlEncode(json::serialize(json::object{{"sub", "root"}, {"uid", ada.id}, {"iat", now}, {"exp", now + 600}})) +
                         good.substr(good.rfind('.'));
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(tampered)), 401, "UNAUTHORIZED",
                "Invalid token: bad token signature", kNull, "invalid_token");

  CHECK(c.Get("/api/v1/datasets", Bearer(good)).status == 200);
  REQUIRE(users.Remove("ada").ok());
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(good)), 401, "UNAUTHORIZED",
                "Invalid token: the user no longer exists", kNull, "unknown_user");
  // Adding the name again makes a new account: the old token stays refused.
  REQUIRE(users.Add("ada", "correct-horse").ok());
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer(good)), 401, "UNAUTHORIZED",
                "Invalid token: the user no longer exists", kNull, "unknown_user");
}

TEST_CASE("v1 the viewer's --token does not open /api/v1, but still opens the other APIs", "[v1]") {
  ServerConfig config;
  config.token = "viewer-secret";
  TestServer s(config);
  HttpClient c(s.port());
  CheckEnvelope(c.Get("/api/v1/datasets", Bearer("viewer-secret")), 401, "UNAUTHORIZED",
                "Invalid token: malformed token", kNull, "invalid_token");
  CHECK(c.Get("/api/runs", Bearer("viewer-secret")).status == 200);
  // Login itself needs no token at all (not even the viewer's).
  CheckEnvelope(c.Post("/api/v1/login", R"({"username":"x","password":"yyyyyyyy"})"), 401, "UNAUTHORIZED",
                "Invalid username or password", kNull, "invalid_credentials");
}

TEST_CASE("v1 rate limits: 120 per minute per user for other routes, 10 per hour for training", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  AddUser(s, "bob", "correct-horse");
  HttpClient c(s.port());
  std::string ada = Login(c, "ada", "correct-horse");
  std::string bob = Login(c, "bob", "correct-horse");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (int i = 1; i <= 120; ++i) {
    auto r = c.Get("/api/v1/datasets", Bearer(ada));
    REQUIRE(r.status == 200);
    REQUIRE(r.header("x-ratelimit-limit") == "120");
    REQUIRE(r.header("x-ratelimit-remaining") == std::to_string(120 - i));
  }
  auto limited = c.Get("/api/v1/datasets", Bearer(ada));
  CheckEnvelope(limited, 429, "TOO_MANY_REQUESTS", "Rate limit exceeded", kNull, "rate_limited");
  CHECK(limited.header("x-ratelimit-limit") == "120");
  CHECK(limited.header("x-ratelimit-remaining") == "0");
  const int64_t reset = std::stoll(limited.header("x-ratelimit-reset"));
  CHECK(reset > now);
  CHECK(reset <= now + 62);
  CHECK(!limited.header("retry-after").empty());
  // Per user: bob is not affected.
  CHECK(c.Get("/api/v1/datasets", Bearer(bob)).status == 200);

  // Training routes share a 10 per hour budget (refused requests count too: "{}" lacks dataset_path).
  for (int i = 1; i <= 10; ++i) {
    auto r = c.Post("/api/v1/train", "{}", Bearer(bob));
    REQUIRE(r.status == 400);
    REQUIRE(r.header("x-ratelimit-limit") == "10");
  }
  auto train = c.Post("/api/v1/train", "{}", Bearer(bob));
  CheckEnvelope(train, 429, "TOO_MANY_REQUESTS", "Rate limit exceeded", kNull, "rate_limited");
  CHECK(std::stoll(train.header("x-ratelimit-reset")) > now + 3000);
  auto generate = c.Post("/api/v1/generate", "{}", Bearer(bob));
  CHECK(generate.status == 400);  // no prompt
  CHECK(generate.header("x-ratelimit-limit") == "60");
}

TEST_CASE("v1 dataset upload: JSON and CSV become dataset artifacts", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  std::string token = Login(c, "ada", "correct-horse");

  auto r = Upload(s, token, {{"file", kQaJson, "qa.json"}, {"name", "qa"}, {"description", "tiny QA set"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.size() == 8);
  CHECK(o.at("id") == json::value("qa:v1"));
  CHECK(o.at("name") == json::value("qa"));
  CHECK(o.at("path") == json::value("qa:v1/data.json"));
  CHECK(o.at("size_mb") == json::value(0.0));
  CHECK(o.at("samples_count") == json::value(3));
  CHECK(o.at("description") == json::value("tiny QA set"));
  CHECK(o.at("message") == json::value("Dataset uploaded"));
  CHECK(std::regex_match(std::string(o.at("uploaded_at").as_string()), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(ReadArtifactFile(s, "qa:v1", "data.json") == kQaJson);

  const std::string csv = "instruction,response\r\n\"Say \"\"hi\"\"\",hi\r\n\"a, b\",\"multi\nline\"\r\n";
  auto rc = Upload(s, token, {{"file", csv, "qa.csv"}, {"name", "qa-csv"}, {"format", "csv"}});
  INFO(rc.body);
  REQUIRE(rc.status == 200);
  CHECK(rc.json().at("samples_count") == json::value(2));
  CHECK(rc.json().at("path") == json::value("qa-csv:v1/data.csv"));

  auto detail = c.Get("/api/v1/datasets/qa-csv:v1", Bearer(token));
  REQUIRE(detail.status == 200);
  CHECK(detail.json().at("columns") == json::parse(R"(["instruction","response"])"));
  CHECK(detail.json().at("format") == json::value("csv"));
  CHECK(detail.json().at("source") == kNull);

  auto list = c.Get("/api/v1/datasets", Bearer(token));
  REQUIRE(list.status == 200);
  CHECK(list.json().at("count") == json::value(2));
  CHECK(list.json().at("datasets").as_array().at(0).at("id") == json::value("qa:v1"));
  CHECK(list.json().at("datasets").as_array().at(1).at("id") == json::value("qa-csv:v1"));
  CheckEnvelope(c.Get("/api/v1/datasets/missing:v1", Bearer(token)), 404, "NOT_FOUND", "Dataset not found: missing:v1",
                kNull, "not_found");
  CheckEnvelope(c.Get("/api/v1/datasets/nonsense", Bearer(token)), 400, "INVALID_REQUEST",
                "Invalid dataset id 'nonsense': expected NAME:vN", json::value("dataset_id"), "invalid");
}

TEST_CASE("v1 dataset upload: bad rows and bad forms are 400 with field and reason", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  std::string token = Login(c, "ada", "correct-horse");
  CheckEnvelope(Upload(s, token, {{"file", R"([{"a":1},"oops"])", "x.json"}, {"name", "bad"}}), 400, "INVALID_REQUEST",
                "row 2: expected a non-empty JSON object", json::value("file"), "invalid_row");
  CheckEnvelope(Upload(s, token, {{"file", R"([{"a":{"b":1}}])", "x.json"}, {"name", "bad"}}), 400, "INVALID_REQUEST",
                "row 1: column 'a' must be a string, number, boolean or null", json::value("file"), "invalid_row");
  CheckEnvelope(Upload(s, token, {{"file", "a,b\n1,2\n1,2,3\n", "x.csv"}, {"name", "bad"}, {"format", "csv"}}), 400,
                "INVALID_REQUEST", "row 3: expected 2 fields, found 3", json::value("file"), "invalid_row");
  CheckEnvelope(Upload(s, token, {{"file", "[]", "x.json"}, {"name", "bad"}}), 400, "INVALID_REQUEST",
                "file has no rows", json::value("file"), "empty");
  CheckEnvelope(Upload(s, token, {{"file", kQaJson, "x.json"}}), 400, "INVALID_REQUEST", "Field 'name' is required",
                json::value("name"), "required");
  CheckEnvelope(Upload(s, token, {{"name", "x"}}), 400, "INVALID_REQUEST", "Field 'file' is required",
                json::value("file"), "required");
  CheckEnvelope(Upload(s, token, {{"file", kQaJson, "x.json"}, {"name", "x"}, {"path", "/etc/passwd"}}), 400,
                "INVALID_REQUEST", "Unknown field 'path'", json::value("path"), "unknown_field");
  CheckEnvelope(Upload(s, token, {{"file", kQaJson, "x.json"}, {"name", "x"}, {"format", "xml"}}), 400,
                "INVALID_REQUEST", "format must be \"json\" or \"csv\"", json::value("format"), "invalid_value");
  auto bad_name = Upload(s, token, {{"file", kQaJson, "../../x.json"}, {"name", "../evil"}});
  CHECK(bad_name.status == 400);
  CHECK(bad_name.json().at("error").at("details").at("field") == json::value("name"));
  // Uploads take multipart only; JSON is 415 in the envelope.
  CheckEnvelope(c.Post("/api/v1/datasets/upload", "{}", Bearer(token)), 415, "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type must be multipart/form-data", json::value("Content-Type"), "unsupported_media_type");
  CheckEnvelope(PostRaw(s.port(), "/api/v1/datasets/upload", "multipart/form-data; boundary=zz", "garbage", token), 400,
                "INVALID_REQUEST", "multipart body has no boundary line", kNull, "invalid_multipart");
  // Nothing was stored by the refused uploads.
  CHECK(c.Get("/api/v1/datasets", Bearer(token)).json().at("count") == json::value(0));
}

TEST_CASE("v1 dataset upload: the same file twice stores no new chunks", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  std::string token = Login(c, "ada", "correct-horse");
  REQUIRE(Upload(s, token, {{"file", TenRowsJson(), "d.json"}, {"name", "ten"}}).status == 200);
  auto before = s.ctx().services->artifacts.Stats();
  REQUIRE(before.ok());
  auto again = Upload(s, token, {{"file", TenRowsJson(), "d.json"}, {"name", "ten"}});
  REQUIRE(again.status == 200);
  CHECK(again.json().at("id") == json::value("ten:v2"));
  auto after = s.ctx().services->artifacts.Stats();
  REQUIRE(after.ok());
  CHECK(after->stored_bytes == before->stored_bytes);
  CHECK(after->total_size_bytes == 2 * before->total_size_bytes);
}

TEST_CASE("v1 dataset process: seeded split, template, lineage to the source", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  std::string token = Login(c, "ada", "correct-horse");
  REQUIRE(Upload(s, token, {{"file", TenRowsJson(), "d.json"}, {"name", "ten"}}).status == 200);
  const std::string request =
      R"({"dataset_id":"ten:v1","output_name":"ten-proc","train_ratio":0.6,"val_ratio":0.2,"test_ratio":0.2,)"
      R"("template":"### Q:\n{instruction}\n### A:\n{response}","seed":7})";
  auto r = c.Post("/api/v1/datasets/process", request, Bearer(token));
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto o = r.json().as_object();
  CHECK(o.size() == 7);
  CHECK(std::regex_match(std::string(o.at("task_id").as_string()),
                         std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  CHECK(o.at("status") == json::value("completed"));
  CHECK(o.at("dataset_id") == json::value("ten:v1"));
  CHECK(o.at("output_path") == json::value("ten-proc:v1"));
  CHECK(o.at("splits") == json::parse(R"({"train":6,"validation":2,"test":2})"));
  CHECK(o.at("message") == json::value("Dataset processed"));

  const std::string train = ReadArtifactFile(s, "ten-proc:v1", "train.jsonl");
  CHECK(std::count(train.begin(), train.end(), '\n') == 6);
  auto first = json::parse(train.substr(0, train.find('\n'))).as_object();
  const std::string q(first.at("instruction").as_string());
  const std::string a(first.at("response").as_string());
  CHECK(first.at("text") == json::value("### Q:\n" + q + "\n### A:\n" + a));

  // Same seed, same split; every source row lands in exactly one split.
  REQUIRE(c.Post("/api/v1/datasets/process", request, Bearer(token)).status == 200);
  CHECK(ReadArtifactFile(s, "ten-proc:v2", "train.jsonl") == train);
  std::string all = train + ReadArtifactFile(s, "ten-proc:v1", "validation.jsonl") +
                    ReadArtifactFile(s, "ten-proc:v1", "test.jsonl");
  for (int i = 0; i < 10; ++i) CHECK(all.find("\"instruction\":\"q" + std::to_string(i) + "\"") != std::string::npos);
  // Rows move whole: a row's instruction and response stay together.
  CHECK(q.substr(1) == a.substr(1));

  auto detail = c.Get("/api/v1/datasets/ten-proc:v1", Bearer(token));
  CHECK(detail.json().at("source") == json::value("ten:v1"));
  CHECK(detail.json().at("samples_count") == json::value(10));

  auto lineage = s.ctx().services->artifacts.Lineage({"ten-proc", 1, runtrack::ArtifactType::kDataset}, 3);
  REQUIRE(lineage.ok());
  bool source_upstream = false;
  for (const auto& n : lineage->graph.nodes)
    if (n.node_id == "ten:v1" && n.direction == "upstream") source_upstream = true;
  CHECK(source_upstream);
}

TEST_CASE("v1 dataset process: bad ratios, missing template columns and unknown datasets", "[v1]") {
  TestServer s;
  AddUser(s, "ada", "correct-horse");
  HttpClient c(s.port());
  std::string token = Login(c, "ada", "correct-horse");
  REQUIRE(Upload(s, token, {{"file", TenRowsJson(), "d.json"}, {"name", "ten"}}).status == 200);
  CheckEnvelope(c.Post("/api/v1/datasets/process",
                       R"({"dataset_id":"ten:v1","output_name":"o","train_ratio":0.7,"val_ratio":0.1,"test_ratio":0.1})",
                       Bearer(token)),
                400, "INVALID_REQUEST", "train_ratio + val_ratio + test_ratio must be 1, got 0.9",
                json::value("ratios"), "must_sum_to_1");
  CheckEnvelope(c.Post("/api/v1/datasets/process", R"({"dataset_id":"ten:v1","output_name":"o","train_ratio":1.5})",
                       Bearer(token)),
                400, "INVALID_REQUEST", "train_ratio must be between 0 and 1", json::value("train_ratio"),
                "out_of_range");
  CheckEnvelope(c.Post("/api/v1/datasets/process",
                       R"({"dataset_id":"ten:v1","output_name":"o","template":"{instruction} -> {answer}"})",
                       Bearer(token)),
                400, "INVALID_REQUEST", "template names column 'answer', which row 1 of ten:v1 does not have",
                json::value("template"), "unknown_column");
  CheckEnvelope(c.Post("/api/v1/datasets/process", R"({"dataset_id":"ten:v1","output_name":"o","template":"{oops"})",
                       Bearer(token)),
                400, "INVALID_REQUEST", "template: '{' at offset 0 does not start a {column} reference",
                json::value("template"), "invalid_template");
  CheckEnvelope(c.Post("/api/v1/datasets/process", R"({"dataset_id":"nope:v1","output_name":"o"})", Bearer(token)),
                404, "NOT_FOUND", "Dataset not found: nope:v1", kNull, "not_found");
  CheckEnvelope(c.Post("/api/v1/datasets/process", R"({"output_name":"o"})", Bearer(token)), 400, "INVALID_REQUEST",
                "Field 'dataset_id' is required", json::value("dataset_id"), "required");
  CheckEnvelope(c.Post("/api/v1/datasets/process", R"({"dataset_id":"ten:v1","output_name":"o","train_ratio":"0.8"})",
                       Bearer(token)),
                400, "INVALID_REQUEST", "Field 'train_ratio' must be a number", json::value("train_ratio"),
                "invalid_type");
  // None of the refused requests stored a version.
  CHECK(c.Get("/api/v1/datasets", Bearer(token)).json().at("count") == json::value(1));
}

}  // namespace runicorn::testing
