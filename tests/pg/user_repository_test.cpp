// The training service API's accounts in PostgreSQL (service/pg/pg_user_repository.h): the same
// answers as the embedded users.json store for the same calls, shared by every replica (users,
// removals and the token key), and tokens of one viewer accepted by another on the same database.
#ifdef RUNICORN_HAVE_PG
#include <fstream>
#include <regex>
#include <tuple>
#include <thread>

#include "pg/pg_test_support.h"
#include "s3/runicorn_process.h"
#include "server_fixture.h"
#include "v1_test_support.h"
#include "service/jwt.h"
#include "service/pg/pg_user_repository.h"
#include "service/user_store.h"

using namespace runicorn::testing;
using runicorn::service::TokenIssuer;
using runicorn::service::UserInfo;
using runicorn::service::UserRepository;
using runicorn::service::UserStore;
using runicorn::service::pg::PgUserRepository;
using runtrack::StatusCode;

namespace {

std::unique_ptr<PgUserRepository> OpenPgUsers(const std::string& conninfo) {
  REQUIRE_FALSE(conninfo.empty());
  auto users = PgUserRepository::Open(conninfo);
  INFO(users.status().ToString());
  REQUIRE(users.ok());
  return std::move(users).value();
}

// A user as text: the random id and the creation time only by their shape.
std::string Render(const UserInfo& u) {
  const bool id_ok = std::regex_match(u.id, std::regex("[0-9a-f]{32}"));
  const bool time_ok = std::regex_match(u.created_at, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"));
  return fmt::format("{}|id:{}|time:{}", u.name, id_ok ? "ok" : u.id, time_ok ? "ok" : u.created_at);
}
std::string Outcome(const runtrack::Status& s) { return s.ok() ? "ok" : "error " + s.ToString(); }
std::string Outcome(const runtrack::Result<UserInfo>& r) { return r.ok() ? Render(*r) : Outcome(r.status()); }
std::string Outcome(const runtrack::Result<std::optional<UserInfo>>& r) {
  if (!r.ok()) return Outcome(r.status());
  return *r ? Render(**r) : "none";
}
std::string Outcome(const runtrack::Result<std::vector<UserInfo>>& r) {
  if (!r.ok()) return Outcome(r.status());
  std::string out = "[";
  for (const auto& u : *r) out += Render(u) + ";";
  return out + "]";
}

// The same script of calls on one repository; each answer as a line.
std::vector<std::string> Script(UserRepository& users) {
  std::vector<std::string> out;
  out.push_back(Outcome(users.List()));
  auto ada = users.Add("ada", "correct-horse");
  out.push_back(Outcome(ada));
  out.push_back(Outcome(users.Add("ada", "another-password")));
  out.push_back(Outcome(users.Add("-ada", "correct-horse")));
  out.push_back(Outcome(users.Add("x/../y", "correct-horse")));
  out.push_back(Outcome(users.Add("bob", "short")));
  out.push_back(Outcome(users.Add("bob", std::string(1025, 'p'))));
  out.push_back(Outcome(users.Add("Bob", "password-b")));
  out.push_back(Outcome(users.Add("alice.b", "password-c")));
  out.push_back(Outcome(users.List()));
  out.push_back(Outcome(users.Authenticate("ada", "correct-horse")));
  out.push_back(Outcome(users.Authenticate("ada", "correct-horsE")));
  out.push_back(Outcome(users.Authenticate("nobody", "correct-horse")));
  out.push_back(Outcome(users.Authenticate("bob", "password-b")));  // names are case-sensitive
  REQUIRE(ada.ok());
  out.push_back(Outcome(users.Find("ada", ada->id)));
  out.push_back(Outcome(users.Find("ada", std::string(32, '0'))));
  out.push_back(Outcome(users.Find("Bob", ada->id)));
  out.push_back(Outcome(users.Find("nobody", ada->id)));
  out.push_back(Outcome(users.Remove("ada")));
  out.push_back(Outcome(users.Remove("ada")));
  out.push_back(Outcome(users.Find("ada", ada->id)));
  out.push_back(Outcome(users.Authenticate("ada", "correct-horse")));
  auto again = users.Add("ada", "correct-horse");
  out.push_back(Outcome(again));
  out.push_back(again.ok() && again->id != ada->id ? "new id" : "same id");
  out.push_back(Outcome(users.Find("ada", ada->id)));  // the old id stays refused
  out.push_back(Outcome(users.List()));
  auto key = users.TokenKey();
  auto key2 = users.TokenKey();
  out.push_back(key.ok() && key2.ok() && key->size() == 32 && *key == *key2 ? "key: 32 bytes, stable" : "key: bad");
  return out;
}

}  // namespace

TEST_CASE("pg users: the same calls give the embedded store's answers", "[pg][users]") {
  RUNICORN_PG_TEST_SERVER(server);
  runtrack::testing::TempDir dir;
  UserStore embedded{runtrack::StoreLayout(dir.path())};
  auto pg = OpenPgUsers(server.NewDatabase());
  const std::vector<std::string> expected = {
      "[]",
      "ada|id:ok|time:ok",
      "error already_exists: user 'ada' already exists",
      "error invalid_argument: Invalid user name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
      "or digit",
      "error invalid_argument: Invalid user name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
      "or digit",
      "error invalid_argument: Password too short: use at least 8 characters",
      "error invalid_argument: Password too long: use at most 1024 bytes",
      "Bob|id:ok|time:ok",
      "alice.b|id:ok|time:ok",
      "[Bob|id:ok|time:ok;ada|id:ok|time:ok;alice.b|id:ok|time:ok;]",
      "ada|id:ok|time:ok",
      "none",
      "none",
      "none",
      "ada|id:ok|time:ok",
      "none",
      "none",
      "none",
      "ok",
      "error not_found: user 'ada' does not exist",
      "none",
      "none",
      "ada|id:ok|time:ok",
      "new id",
      "none",
      "[Bob|id:ok|time:ok;ada|id:ok|time:ok;alice.b|id:ok|time:ok;]",
      "key: 32 bytes, stable",
  };
  CHECK(Script(embedded) == expected);
  CHECK(Script(*pg) == expected);
}

TEST_CASE("pg users: two replicas see each other's users, removals and token key", "[pg][users]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  auto a = OpenPgUsers(db);
  auto b = OpenPgUsers(db);
  auto ada = a->Add("ada", "correct-horse");
  REQUIRE(ada.ok());
  CHECK(Outcome(b->List()) == "[ada|id:ok|time:ok;]");
  auto found = b->Authenticate("ada", "correct-horse");
  REQUIRE(found.ok());
  REQUIRE(*found);
  CHECK((*found)->id == ada->id);
  CHECK((*found)->created_at == ada->created_at);
  CHECK(Outcome(b->Add("ada", "x-password")) == "error already_exists: user 'ada' already exists");

  // A token signed with one replica's key verifies with the other's.
  auto issuer_a = TokenIssuer::Open(*a);
  auto issuer_b = TokenIssuer::Open(*b);
  REQUIRE(issuer_a.ok());
  REQUIRE(issuer_b.ok());
  const int64_t now = 1800000000;
  auto claims = issuer_b->Verify(issuer_a->Issue(*ada, now).token, now + 1);
  REQUIRE(claims.ok());
  CHECK(claims->sub == "ada");
  CHECK(Outcome(b->Find(claims->sub, claims->uid)) == "ada|id:ok|time:ok");

  REQUIRE(b->Remove("ada").ok());
  CHECK(Outcome(a->Find("ada", ada->id)) == "none");
  CHECK(Outcome(a->Remove("ada")) == "error not_found: user 'ada' does not exist");

  // Nothing but the hash is stored: no column holds the password.
  REQUIRE(a->Add("bea", "correct-horse").ok());
  auto conn = runicorn::service::pg::PgConnection::Connect(db);
  REQUIRE(conn.ok());
  auto rows = (*conn)->Exec("SELECT count(*) FROM api_users WHERE position($1 in concat_ws('|', name, id, salt, hash, "
                            "iterations::text, created_at)) > 0",
                            {std::string("correct-horse")});
  REQUIRE(rows.ok());
  CHECK(rows->Get(0, 0) == "0");
  auto keys = (*conn)->Exec("SELECT count(*), min(length(secret)) FROM api_token_keys");
  REQUIRE(keys.ok());
  CHECK(keys->Get(0, 0) == "1");
  CHECK(keys->Get(0, 1) == "64");
}

TEST_CASE("pg users: replicas starting together agree on one token key", "[pg][users][concurrency]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  std::vector<std::unique_ptr<PgUserRepository>> replicas;
  for (int i = 0; i < 6; ++i) replicas.push_back(OpenPgUsers(db));
  std::vector<std::string> keys(replicas.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < replicas.size(); ++i)
    threads.emplace_back([&, i] {
      auto k = replicas[i]->TokenKey();
      keys[i] = k.ok() ? *k : "error " + k.status().ToString();
    });
  for (auto& t : threads) t.join();
  for (const auto& k : keys) {
    CHECK(k.size() == 32);
    CHECK(k == keys[0]);
  }
  auto later = OpenPgUsers(db);
  auto k = later->TokenKey();
  REQUIRE(k.ok());
  CHECK(*k == keys[0]);
}

TEST_CASE("pg users: an unreachable PostgreSQL at open is an error naming the reason", "[pg][users]") {
  auto users = PgUserRepository::Open("host=/nonexistent-runicorn-socket-dir dbname=x user=postgres");
  CHECK(users.status().code() == StatusCode::kIOError);
  CHECK(users.status().message().rfind("postgresql: cannot connect:", 0) == 0);
}

namespace {

void UsePgUsers(TestServer& srv, const std::string& db) { srv.ctx().services->users = OpenPgUsers(db); }

}  // namespace

TEST_CASE("pg users: two viewers on one PostgreSQL accept each other's tokens and refuse a removed user",
          "[pg][users][viewer]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  ServerConfig config;
  config.pg_catalog = db;
  TestServer a(config), b(config);
  UsePgUsers(a, db);
  UsePgUsers(b, db);
  TestServer lone;  // an embedded viewer: its own users.json and token key
  auto repo = OpenPgUsers(db);
  REQUIRE(repo->Add("ada", "correct-horse").ok());
  REQUIRE(runicorn::service::UserStore(runtrack::StoreLayout(lone.ctx().root)).Add("ada", "correct-horse").ok());

  HttpClient ca(a.port()), cb(b.port()), cl(lone.port());
  auto login = ca.Post("/api/v1/login", R"({"username":"ada","password":"correct-horse"})");
  INFO(login.body);
  REQUIRE(login.status == 200);
  const std::string token(login.json().at("token").as_string());
  const std::map<std::string, std::string> bearer{{"Authorization", "Bearer " + token}};
  CHECK(ca.Get("/api/v1/datasets", bearer).status == 200);
  auto other = cb.Get("/api/v1/datasets", bearer);
  INFO(other.body);
  CHECK(other.status == 200);
  // Users added through one replica log in through the other.
  CHECK(cb.Post("/api/v1/login", R"({"username":"ada","password":"correct-horse"})").status == 200);
  // A viewer with its own key refuses the token, although it has a user of that name.
  CheckEnvelope(cl.Get("/api/v1/datasets", bearer), 401, "UNAUTHORIZED", "Invalid token: bad token signature",
                nullptr, "invalid_token");

  REQUIRE(repo->Remove("ada").ok());
  for (HttpClient* c : {&ca, &cb})
    CheckEnvelope(c->Get("/api/v1/datasets", bearer), 401, "UNAUTHORIZED", "Invalid token: the user no longer exists",
                  nullptr, "unknown_user");
}

TEST_CASE("pg users: two runicorn viewer processes with --catalog accept each other's tokens",
          "[pg][users][viewer][binary]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  runtrack::testing::TempDir dir;
  auto repo = OpenPgUsers(db);
  REQUIRE(repo->Add("ada", "correct-horse").ok());
  std::vector<std::unique_ptr<RunicornProcess>> viewers;
  std::vector<int> ports;
  for (const char* name : {"a", "b"}) {
    const auto out = dir.path() / name;
    std::filesystem::create_directories(out);
    viewers.push_back(std::make_unique<RunicornProcess>(
        "viewer", std::vector<std::string>{"--storage", (out / "store").string(), "--port", "0", "--catalog", db},
        std::map<std::string, std::string>{}, out));
    ports.push_back(viewers.back()->WaitForPort());
    INFO(viewers.back()->err());
    REQUIRE(ports.back() > 0);
  }
  HttpClient ca(static_cast<uint16_t>(ports[0])), cb(static_cast<uint16_t>(ports[1]));
  auto login = ca.Post("/api/v1/login", R"({"username":"ada","password":"correct-horse"})");
  INFO(login.body);
  REQUIRE(login.status == 200);
  const std::map<std::string, std::string> bearer{
      {"Authorization", "Bearer " + std::string(login.json().at("token").as_string())}};
  CHECK(cb.Get("/api/v1/datasets", bearer).status == 200);
  REQUIRE(repo->Remove("ada").ok());
  CheckEnvelope(cb.Get("/api/v1/datasets", bearer), 401, "UNAUTHORIZED", "Invalid token: the user no longer exists",
                nullptr, "unknown_user");
  CheckEnvelope(ca.Get("/api/v1/datasets", bearer), 401, "UNAUTHORIZED", "Invalid token: the user no longer exists",
                nullptr, "unknown_user");
  // Neither store got a users file or a key file: both live in PostgreSQL.
  for (const char* name : {"a", "b"}) {
    runtrack::StoreLayout layout(dir.path() / name / "store");
    CHECK_FALSE(std::filesystem::exists(layout.users_path()));
    CHECK_FALSE(std::filesystem::exists(layout.token_key_path()));
  }
}

TEST_CASE("pg users: runicorn users --catalog adds, lists and removes PostgreSQL's users", "[pg][users][binary]") {
  RUNICORN_PG_TEST_SERVER(server);
  const std::string db = server.NewDatabase();
  runtrack::testing::TempDir dir;
  const auto pw = dir.path() / "ada.pw";
  {
    std::ofstream f(pw);
    f << "correct-horse\n";
  }
  auto run = [&](const std::vector<std::string>& args) {
    RunicornProcess p("users", args, {}, dir.path());
    const int rc = p.Wait();
    return std::make_tuple(rc, p.out(), p.err());
  };
  auto [added, added_out, added_err] = run({"add", "ada", "--password-file", pw.string(), "--catalog", db});
  INFO(added_err);
  CHECK(added == 0);
  CHECK(added_out == "added user ada\n");
  auto repo = OpenPgUsers(db);
  CHECK(Outcome(repo->Authenticate("ada", "correct-horse")) == "ada|id:ok|time:ok");
  auto [dup, dup_out, dup_err] = run({"add", "ada", "--password-file", pw.string(), "--catalog", db});
  CHECK(dup == 5);
  CHECK(dup_err == "runicorn: user 'ada' already exists\n");
  auto [listed, list_out, list_err] = run({"list", "--json", "--catalog", db});
  CHECK(listed == 0);
  CHECK(list_out.find(R"({"users":[{"name":"ada","created_at":")") == 0);
  auto [removed, removed_out, removed_err] = run({"remove", "ada", "--catalog", db});
  CHECK(removed == 0);
  CHECK(removed_out == "removed user ada\n");
  CHECK(Outcome(repo->List()) == "[]");
  // A password in the URL is refused without echoing it; --catalog and --storage exclude each other.
  auto [refused, refused_out, refused_err] = run({"list", "--catalog", "postgresql://u:s3cret@localhost/db"});
  CHECK(refused == 2);
  CHECK(refused_err.find("s3cret") == std::string::npos);
  CHECK(refused_err.find("contains a password") != std::string::npos);
  auto [both, both_out, both_err] = run({"list", "--catalog", db, "--storage", dir.path().string()});
  CHECK(both == 2);
}

#else
#include <catch2/catch.hpp>
TEST_CASE("pg users (libpq not found at build time)", "[pg]") { WARN("SKIPPED: built without libpq"); }
#endif
