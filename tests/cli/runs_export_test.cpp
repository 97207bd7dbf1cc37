// `runicorn runs`, `export`, `config` and the top-level command line, run as a subprocess against a
// store written with the library.
#include <catch2/catch.hpp>

#include <sstream>

#include "cli_fixture.h"
#include "server/app_context.h"
#include "server/handlers.h"

using namespace runicorn::testing;
using runicorn::cli::ProgressUnit;
namespace bj = boost::json;

namespace {

constexpr const char* kRunA = "20250114_120000_aaaaaa";
constexpr const char* kRunB = "20250114_130000_bbbbbb";

struct Written {
  double before = 0, after = 0;  // wall-clock window around the logging, for the time column
};

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Run A (vision/resnet, finished): accuracy and loss at steps 1..3, stage "train", primary
// metric accuracy. Run B (nlp/bert, failed, created after A): loss at steps 1..2, no stage.
Written WriteRuns(const CliEnv& env) {
  auto store = env.OpenStore();
  Written w;
  w.before = Now();
  runtrack::RunOptions a;
  a.project = "vision";
  a.name = "resnet";
  a.run_id = kRunA;
  a.config = {{"lr", 0.5}};
  a.tags = {"baseline"};
  auto run = store->CreateRun(a);
  REQUIRE(run.ok());
  REQUIRE((*run)->SetPrimaryMetric("accuracy", runtrack::MetricMode::kMax).ok());
  const double acc[] = {0.5, 0.625, 0.75}, loss[] = {1.0, 0.5, 0.25};
  for (int s = 1; s <= 3; ++s) REQUIRE((*run)->Log({{"accuracy", acc[s - 1]}, {"loss", loss[s - 1]}}, s, "train").ok());
  REQUIRE((*run)->Summary({{"note", "ok"}}).ok());
  REQUIRE((*run)->Finish().ok());

  runtrack::RunOptions b;
  b.project = "nlp";
  b.name = "bert";
  b.run_id = kRunB;
  auto run_b = store->CreateRun(b);
  REQUIRE(run_b.ok());
  REQUIRE((*run_b)->Log({{"loss", 2.0}}, 1).ok());
  REQUIRE((*run_b)->Log({{"loss", 1.0}}, 2).ok());
  REQUIRE((*run_b)->Finish(runtrack::RunStatus::kFailed).ok());
  w.after = Now();
  return w;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

// The API's export body for run A, computed in-process once the CLI has exited (the catalog
// admits one process at a time).
std::string ApiExport(const CliEnv& env, const std::string& format, std::vector<std::pair<std::string, std::string>> q = {}) {
  auto ctx = runicorn::server::AppContext::Open(env.root());
  REQUIRE(ctx.ok());
  REQUIRE((*ctx)->storage->catalog().Refresh().ok());
  runicorn::server::Request req;
  req.path_params["run_id"] = kRunA;
  for (auto& [k, v] : q) req.query.Add(k, v);
  auto r = format == "csv" ? runicorn::server::HandleExportCsv(**ctx, req)
                           : runicorn::server::HandleExportJson(**ctx, req);
  REQUIRE(r.status == 200);
  REQUIRE(r.stream);  // exports are streamed a page at a time
  std::string body;
  char buf[4096];
  for (;;) {
    auto n = r.stream->Read(buf, sizeof buf);
    REQUIRE(n.ok());
    if (*n == 0) return body;
    body.append(buf, *n);
  }
}

}  // namespace

TEST_CASE("runs list prints a table, newest first, and --json the API's list", "[cli][runs]") {
  CliEnv env;
  WriteRuns(env);
  auto js = env.Run({"runs", "list", "--json"});
  REQUIRE(js.exit_code == 0);
  CHECK(js.err.empty());
  const bj::array runs = js.json().as_array();
  REQUIRE(runs.size() == 2);
  CHECK(runs[0].at("id").as_string() == kRunB);
  CHECK(runs[1].at("id").as_string() == kRunA);
  CHECK(runs[1].at("status").as_string() == "finished");
  CHECK(runs[1].at("best_metric_name").as_string() == "accuracy");
  CHECK(runs[1].at("best_metric_value").as_double() == 0.75);
  CHECK(runs[0].at("status").as_string() == "failed");
  CHECK(runs[0].at("best_metric_name").is_null());

  auto table = env.Run({"runs", "list"});
  REQUIRE(table.exit_code == 0);
  std::string expected =
      "ID                      PROJECT  NAME    STATUS    CREATED              BEST\n" +
      fmt::format("{}  nlp      bert    failed    {}  -\n", kRunB, UtcTime(runs[0].at("created_time").as_double())) +
      fmt::format("{}  vision   resnet  finished  {}  accuracy=0.75\n", kRunA,
                  UtcTime(runs[1].at("created_time").as_double()));
  CHECK(table.out == expected);
  CHECK(table.err.empty());

  auto filtered = env.Run({"runs", "list", "--project", "vision", "--json"});
  REQUIRE(filtered.exit_code == 0);
  REQUIRE(filtered.json().as_array().size() == 1);
  CHECK(filtered.json().as_array()[0].at("id").as_string() == kRunA);
  // --storage wins over RUNICORN_DIR.
  auto empty = env.Run({"runs", "list", "--json", "--storage", (env.dir() / "other").string()});
  REQUIRE(empty.exit_code == 0);
  CHECK(empty.out == "[]\n");
}

TEST_CASE("runs show prints the detail and its metric table", "[cli][runs]") {
  CliEnv env;
  WriteRuns(env);
  auto js = env.Run({"runs", "show", kRunA, "--json"});
  REQUIRE(js.exit_code == 0);
  const bj::object d = js.json().as_object();
  CHECK(d.at("id").as_string() == kRunA);
  CHECK(d.at("metric_names").as_array().size() == 2);

  auto show = env.Run({"runs", "show", kRunA});
  REQUIRE(show.exit_code == 0);
  std::string expected = fmt::format(
      "id                 {}\n"
      "project            vision\n"
      "name               resnet\n"
      "status             finished\n"
      "exit_reason        -\n"
      "hostname           {}\n"
      "pid                {}\n"
      "best_metric_name   accuracy\n"
      "best_metric_value  0.75\n"
      "best_metric_step   3\n"
      "log_bytes          0\n"
      "created            {}\n"
      "tags               [\"baseline\"]\n"
      "config             {{\"lr\":5E-1}}\n"
      "summary            {{\"note\":\"ok\"}}\n"
      "\n"
      "METRIC    POINTS  STEPS  MIN   MAX   LAST\n"
      "accuracy  3       1..3   0.5   0.75  0.75\n"
      "loss      3       1..3   0.25  1     0.25\n",
      kRunA, d.at("hostname").as_string().c_str(), d.at("pid").as_int64(), UtcTime(d.at("created_time").as_double()));
  CHECK(show.out == expected);

  auto missing = env.Run({"runs", "show", "20200101_000000_abcdef"});
  CHECK(missing.exit_code == 4);
  CHECK(missing.out.empty());
  CHECK(missing.err == "runicorn: Run not found\n");
  // A malformed id names no run: the API's 404 "Run not found", so the not-found exit code.
  auto bad = env.Run({"runs", "show", "bad"});
  CHECK(bad.exit_code == 4);
  CHECK(bad.err == "runicorn: Run not found\n");
  CHECK(env.Run({"runs", "show"}).exit_code == 2);
  CHECK(env.Run({"runs", "show", kRunA, kRunB}).exit_code == 2);
}

TEST_CASE("runs delete, list --deleted, restore and permanent delete", "[cli][runs]") {
  CliEnv env;
  WriteRuns(env);
  auto del = env.Run({"runs", "delete", kRunA});
  REQUIRE(del.exit_code == 0);
  CHECK(del.out == "Soft deleted 1 of 1 runs\n");
  auto list = env.Run({"runs", "list", "--json"});
  REQUIRE(list.json().as_array().size() == 1);
  CHECK(list.json().as_array()[0].at("id").as_string() == kRunB);
  auto bin = env.Run({"runs", "list", "--deleted"});
  REQUIRE(bin.exit_code == 0);
  REQUIRE(Split(bin.out, '\n').size() == 2);
  CHECK(Split(bin.out, '\n')[1].rfind(std::string(kRunA) + "  vision   resnet  finished  ", 0) == 0);

  auto restore = env.Run({"runs", "restore", kRunA, "--json"});
  REQUIRE(restore.exit_code == 0);
  CHECK(restore.json().at("results").at(kRunA).at("success").as_bool());
  CHECK(env.Run({"runs", "list", "--json"}).json().as_array().size() == 2);

  auto unknown = env.Run({"runs", "delete", "20200101_000000_abcdef"});
  CHECK(unknown.exit_code == 4);
  CHECK(unknown.out == "Soft deleted 0 of 1 runs\n");
  CHECK(unknown.err == "  20200101_000000_abcdef: run 20200101_000000_abcdef not found\n");
  CHECK(env.Run({"runs", "delete", "bad"}).exit_code == 2);
  CHECK(env.Run({"runs", "delete"}).exit_code == 2);
  CHECK(env.Run({"runs", "restore"}).exit_code == 2);

  auto perm = env.Run({"runs", "delete", kRunB, "--permanent"});
  REQUIRE(perm.exit_code == 0);
  CHECK(perm.out == "permanently deleted 1 of 1 runs\n");
  CHECK(env.Run({"runs", "show", kRunB}).exit_code == 4);
  CHECK(!fs::exists(env.root() / "runs" / kRunB));
}

TEST_CASE("export --format csv prints every point, byte-identical to the API", "[cli][export]") {
  CliEnv env;
  Written w = WriteRuns(env);
  auto csv = env.Run({"export", "--run-id", kRunA, "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.err.empty());  // stderr is no terminal here: no bar
  auto lines = Split(csv.out, '\n');
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "global_step,time,accuracy,loss,stage");
  const char* rows[] = {"1,0.5,1,train", "2,0.625,0.5,train", "3,0.75,0.25,train"};
  for (int i = 0; i < 3; ++i) {
    auto f = Split(lines[i + 1], ',');
    REQUIRE(f.size() == 5);
    CHECK(f[0] + "," + f[2] + "," + f[3] + "," + f[4] == rows[i]);
    double t = std::stod(f[1]);
    CHECK(t >= w.before);
    CHECK(t <= w.after);
  }
  CHECK(csv.out == ApiExport(env, "csv"));

  auto only_loss = env.Run({"export", "--run-id", kRunA, "--format", "csv", "--metrics", "loss"});
  REQUIRE(only_loss.exit_code == 0);
  CHECK(Split(only_loss.out, '\n').at(0) == "global_step,time,loss,stage");
  CHECK(only_loss.out == ApiExport(env, "csv", {{"metrics", "loss"}}));
}

TEST_CASE("export --format json prints the API body plus a newline", "[cli][export]") {
  CliEnv env;
  WriteRuns(env);
  auto js = env.Run({"export", "--run-id", kRunA});  // json is the default
  REQUIRE(js.exit_code == 0);
  CHECK(js.err.empty());
  const bj::object o = js.json().as_object();
  CHECK(o.at("format_version").as_int64() == 1);
  CHECK(o.at("run").at("id").as_string() == kRunA);
  CHECK(o.at("metrics").at("rows").as_array().size() == 3);
  // exported_at differs between two calls; everything else is the API's body byte for byte.
  bj::object api = bj::parse(ApiExport(env, "json")).as_object();
  bj::object cli = o;
  api.erase("exported_at");
  cli.erase("exported_at");
  CHECK(bj::serialize(cli) == bj::serialize(api));
  CHECK(js.out.back() == '\n');
}

TEST_CASE("export --output writes the file, with a progress bar on stderr under --progress", "[cli][export]") {
  CliEnv env;
  WriteRuns(env);
  const std::string file = (env.dir() / "out.csv").string();
  auto quiet = env.Run({"export", "--run-id", kRunA, "--format", "csv", "--output", file});
  REQUIRE(quiet.exit_code == 0);
  const std::string body = ReadAll(file);
  CHECK(body == ApiExport(env, "csv"));
  CHECK(quiet.out.empty());
  CHECK(quiet.err == fmt::format("wrote {} ({} B)\n", file, body.size()));

  auto loud = env.Run({"export", "--run-id", kRunA, "--format", "csv", "--output", file, "--progress"});
  REQUIRE(loud.exit_code == 0);
  CHECK(loud.out.empty());
  CHECK(ReadAll(file) == body);
  auto lines = BarLines(loud.err);
  // One bar over the rows (steps 1..3 of run A), drawn at once, then its final state on Finish.
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0] == Bar("exporting", 0, 3, ProgressUnit::kCount));
  CHECK(WithoutRate(lines[lines.size() - 2]) == Bar("exporting", 3, 3, ProgressUnit::kCount));
  CHECK(lines.back() == fmt::format("wrote {} ({} B)", file, body.size()));
  CHECK(loud.err.back() == '\n');
  CHECK_FALSE(fs::exists(file + ".partial"));

  // To stdout with --progress: the bar stays on stderr, stdout is the bare export.
  auto piped = env.Run({"export", "--run-id", kRunA, "--format", "csv", "--progress"});
  REQUIRE(piped.exit_code == 0);
  CHECK(piped.out == body);
  CHECK(WithoutRate(BarLines(piped.err).back()) == Bar("exporting", 3, 3, ProgressUnit::kCount));
  auto off = env.Run({"export", "--run-id", kRunA, "--format", "csv", "--progress", "--no-progress"});
  CHECK(off.err.empty());
  // An interactive shell gets the bar without asking.
  auto terminal = env.Run({"export", "--run-id", kRunA, "--format", "csv"}, {}, true);
  REQUIRE(terminal.exit_code == 0);
  CHECK(terminal.out == body);
  CHECK(WithoutRate(BarLines(terminal.err).back()) == Bar("exporting", 3, 3, ProgressUnit::kCount));
}

TEST_CASE("export failures: unknown run, bad arguments, unwritable output", "[cli][export]") {
  CliEnv env;
  WriteRuns(env);
  auto missing = env.Run({"export", "--run-id", "20200101_000000_abcdef", "--format", "csv"});
  CHECK(missing.exit_code == 4);
  CHECK(missing.out.empty());
  CHECK(missing.err == "runicorn: Run not found\n");
  auto bad_id = env.Run({"export", "--run-id", "nope"});
  CHECK(bad_id.exit_code == 4);
  CHECK(bad_id.err == "runicorn: Run not found\n");
  for (std::vector<std::string> args : {std::vector<std::string>{"export"},
                                        {"export", "--run-id", kRunA, "--format", "xml"},
                                        {"export", "--run-id", kRunA, "--bogus", "1"},
                                        {"export", "--run-id", kRunA, "extra"},
                                        {"export", "--run-id"}}) {
    auto r = env.Run(args);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("usage: runicorn export --run-id ID", 0) == 0);
  }
  auto unwritable = env.Run({"export", "--run-id", kRunA, "--output", (env.dir() / "no" / "such" / "f").string()});
  CHECK(unwritable.exit_code == 1);
  CHECK(unwritable.err == fmt::format("runicorn export: cannot write {}\n", (env.dir() / "no" / "such" / "f").string()));
}

TEST_CASE("config --show --json reads the temporary home, --set-user-root writes it", "[cli][config]") {
  CliEnv env;
  const std::string config_file = (env.home() / ".config" / "runicorn" / "config.json").string();
  auto show = env.Run({"config", "--show", "--json"});
  REQUIRE(show.exit_code == 0);
  bj::object expected{{"user_root_dir", nullptr},
                      {"storage", env.root().string()},
                      {"config_file", config_file},
                      {"version", runicorn::server::RunicornVersion()},
                      {"RUNICORN_DIR", env.root().string()},
                      {"RUNICORN_TOKEN_set", false}};
  CHECK(show.out == bj::serialize(expected) + "\n");

  const std::string root = (env.dir() / "saved-root").string();
  auto set = env.Run({"config", "--set-user-root", root});
  REQUIRE(set.exit_code == 0);
  CHECK(set.out == fmt::format("user_root_dir = {} (saved in {})\n", root, config_file));
  CHECK(fs::exists(config_file));
  // Without RUNICORN_DIR the saved root is the storage.
  auto saved = env.Run({"config", "--show", "--json"}, {{"RUNICORN_DIR", std::nullopt}});
  REQUIRE(saved.exit_code == 0);
  CHECK(saved.json().at("user_root_dir").as_string() == root);
  CHECK(saved.json().at("storage").as_string() == root);
  CHECK(saved.json().at("RUNICORN_DIR").is_null());
  auto token = env.Run({"config", "--show", "--json"}, {{"RUNICORN_TOKEN", "x"}});
  CHECK(token.json().at("RUNICORN_TOKEN_set").as_bool());

  CHECK(env.Run({"config"}).exit_code == 2);
  CHECK(env.Run({"config", "--show", "--bogus"}).exit_code == 2);
}

TEST_CASE("top level: help, version, unknown commands and flags exit 2", "[cli][usage]") {
  CliEnv env;
  auto none = env.Run({});
  CHECK(none.exit_code == 2);
  CHECK(none.out.empty());
  CHECK(none.err.rfind("usage: runicorn <command> [options]\n", 0) == 0);
  auto help = env.Run({"help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out == none.err);
  CHECK(help.out.find("stats | download\n") != std::string::npos);
  auto version = env.Run({"version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out == "runicorn " + runicorn::server::RunicornVersion() + "\n");
  auto unknown = env.Run({"bogus"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err == "runicorn: unknown command 'bogus'\n\n" + none.err);
  CHECK(env.Run({"runs"}).exit_code == 2);
  CHECK(env.Run({"runs", "bogus"}).exit_code == 2);
  CHECK(env.Run({"runs", "list", "--bogus"}).exit_code == 2);
  CHECK(env.Run({"runs", "list", "--project"}).exit_code == 2);
  CHECK(env.Run({"gc", "extra"}).exit_code == 2);
  CHECK(env.Run({"gc", "--grace-seconds", "-1"}).exit_code == 2);
  CHECK(env.Run({"gc", "--grace-seconds", "soon"}).exit_code == 2);
  CHECK(env.Run({"gc", "--bogus"}).exit_code == 2);
}
