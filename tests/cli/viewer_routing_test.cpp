// CLI commands while a viewer holds the catalog: they go through that viewer (found through the
// endpoint file it writes into the store) and print and exit exactly as they do on their own.
#include <signal.h>
#include <sys/stat.h>

#include <regex>

#include "cli_fixture.h"
#include "runtrack/layout.h"

namespace runicorn::testing {
namespace {

constexpr const char* kRun = "20250301_101500_c0ffee";

void WriteRun(const CliEnv& env) {
  auto store = env.OpenStore();
  runtrack::RunOptions o;
  o.project = "vision";
  o.name = "vit";
  o.run_id = kRun;
  auto run = store->CreateRun(o);
  REQUIRE(run.ok());
  for (int s = 1; s <= 5; ++s) REQUIRE((*run)->Log({{"loss", 1.0 / s}}, s, "train").ok());
  REQUIRE((*run)->Finish().ok());
}

// `runicorn viewer` on the env's store, with a token from a file (so a client needs a credential),
// stopped with SIGTERM in the destructor.
class ViewerProcess {
 public:
  explicit ViewerProcess(const CliEnv& env) {
    const fs::path token = env.dir() / "token";
    WriteAll(token, "user-secret\n");
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::setenv("HOME", env.home().c_str(), 1);
      ::execl(RUNICORN_BINARY, RUNICORN_BINARY, "viewer", "--storage", env.root().c_str(), "--host", "127.0.0.1",
              "--port", "0", "--threads", "1", "--token-file", token.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    std::string line;
    char c;
    while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
    stdout_ = out[0];  // kept open: the viewer prints again when it stops
    std::smatch m;
    REQUIRE(std::regex_search(line, m, std::regex(R"(http://127\.0\.0\.1:(\d+))")));
    // The endpoint file is written right after the "serving" line.
    const fs::path endpoint = runtrack::StoreLayout(env.root()).viewer_endpoint_path();
    for (int i = 0; i < 500 && !fs::exists(endpoint); ++i) ::usleep(10000);
    REQUIRE(fs::exists(endpoint));
  }
  ~ViewerProcess() { Stop(); }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(stdout_);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
};

}  // namespace

TEST_CASE("with a viewer holding the catalog, commands go through it with the same output", "[cli][viewer]") {
  CliEnv env;
  WriteRun(env);
  // What each command prints on its own, with no viewer running.
  const std::vector<std::vector<std::string>> commands = {
      {"runs", "list"},
      {"runs", "list", "--json"},
      {"runs", "show", kRun, "--json"},
      {"export", "--run-id", kRun, "--format", "csv"},
      {"runs", "show", "20200101_000000_abcdef"},
      {"runs", "show", "bad-id"},
      {"artifacts", "list", "--json"},
  };
  std::vector<CliResult> alone;
  for (const auto& c : commands) alone.push_back(env.Run(c));
  CHECK(alone[4].exit_code == 4);
  CHECK(alone[5].exit_code == 4);  // a malformed id names no run: 404 "Run not found"

  ViewerProcess viewer(env);
  const fs::path endpoint = runtrack::StoreLayout(env.root()).viewer_endpoint_path();
  struct stat st {};
  REQUIRE(::stat(endpoint.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);  // the credential is the owner's alone

  for (size_t i = 0; i < commands.size(); ++i) {
    INFO(commands[i][0] << " " << commands[i][1]);
    CliResult through = env.Run(commands[i]);
    CHECK(through.exit_code == alone[i].exit_code);
    CHECK(through.out == alone[i].out);
    CHECK(through.err == alone[i].err);
  }

  // A change made through the viewer is seen by the viewer's own next answer.
  auto del = env.Run({"runs", "delete", kRun});
  CHECK(del.exit_code == 0);
  CHECK(del.out == "Soft deleted 1 of 1 runs\n");
  auto bin = env.Run({"runs", "list", "--deleted", "--json"});
  REQUIRE(bin.exit_code == 0);
  CHECK(bin.json().at("deleted_runs").as_array().size() == 1);

  viewer.Stop();
  CHECK_FALSE(fs::exists(endpoint));  // removed at shutdown
  // With the viewer gone the store is opened directly again.
  auto restored = env.Run({"runs", "restore", kRun});
  CHECK(restored.exit_code == 0);
  CHECK(restored.out == "Restored 1 of 1 runs\n");
}

TEST_CASE("an endpoint file left by a dead viewer is ignored", "[cli][viewer]") {
  CliEnv env;
  WriteRun(env);
  // pid 0x7fffffff does not exist; the file is otherwise well-formed.
  WriteAll(runtrack::StoreLayout(env.root()).viewer_endpoint_path(),
           R"({"url":"http://127.0.0.1:1","host":"127.0.0.1","port":1,"token":"x","pid":2147483647})");
  auto list = env.Run({"runs", "list", "--json"});
  CHECK(list.exit_code == 0);
  CHECK(list.json().as_array().size() == 1);
}

}  // namespace runicorn::testing
