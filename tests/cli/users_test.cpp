// `runicorn users`: accounts of the training service API, run as the real binary.
#include <sys/stat.h>

#include <future>
#include <vector>

#include <catch2/catch.hpp>

#include "cli_fixture.h"

namespace runicorn::testing {

TEST_CASE("users add, list --json and remove", "[cli][users]") {
  CliEnv env;
  WriteAll(env.dir() / "pw", "correct-horse\n");
  auto add = env.Run({"users", "add", "ada", "--password-file", (env.dir() / "pw").string()});
  INFO(add.err);
  CHECK(add.exit_code == 0);
  CHECK(add.out == "added user ada\n");
  struct stat st {};
  REQUIRE(::stat((env.root() / "users.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(ReadAll(env.root() / "users.json").find("correct-horse") == std::string::npos);

  auto list = env.Run({"users", "list", "--json"});
  CHECK(list.exit_code == 0);
  auto users = list.json().as_object();
  CHECK(users.at("count") == boost::json::value(1));
  CHECK(users.at("users").as_array().at(0).at("name") == boost::json::value("ada"));

  auto dup = env.Run({"users", "add", "ada", "--password-file", (env.dir() / "pw").string()});
  CHECK(dup.exit_code == 5);
  CHECK(dup.err == "runicorn: user 'ada' already exists\n");

  auto rm = env.Run({"users", "remove", "ada"});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == "removed user ada\n");
  auto gone = env.Run({"users", "remove", "ada"});
  CHECK(gone.exit_code == 4);
  CHECK(gone.err == "runicorn: user 'ada' does not exist\n");
  CHECK(env.Run({"users", "list", "--json"}).out == "{\"users\":[],\"count\":0}\n");
}

TEST_CASE("users add never takes a password on the command line", "[cli][users]") {
  CliEnv env;
  auto inline_pw = env.Run({"users", "add", "ada", "--password", "correct-horse"});
  CHECK(inline_pw.exit_code == 2);
  CHECK(inline_pw.err.rfind("usage: runicorn users add NAME (--password-file FILE | --password-stdin)", 0) == 0);
  auto none = env.Run({"users", "add", "ada"});
  CHECK(none.exit_code == 2);
  // stdin is /dev/null here: an empty password is refused, nothing is written.
  auto empty = env.Run({"users", "add", "ada", "--password-stdin"});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err == "runicorn: Password too short: use at least 8 characters\n");
  CHECK(!std::filesystem::exists(env.root() / "users.json"));
  auto missing = env.Run({"users", "add", "ada", "--password-file", (env.dir() / "nope").string()});
  CHECK(missing.exit_code == 4);
}

TEST_CASE("concurrent users add from several processes all take effect", "[cli][users]") {
  CliEnv env;
  WriteAll(env.dir() / "pw", "correct-horse\n");
  constexpr int kUsers = 6;
  std::vector<std::future<CliResult>> adds;
  for (int i = 0; i < kUsers; ++i)
    adds.push_back(std::async(std::launch::async, [&env, i] {
      return env.Run({"users", "add", "user" + std::to_string(i), "--password-file", (env.dir() / "pw").string()});
    }));
  for (auto& add : adds) CHECK(add.get().exit_code == 0);
  auto list = env.Run({"users", "list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.json().as_object().at("count") == boost::json::value(kUsers));
}

}  // namespace runicorn::testing
