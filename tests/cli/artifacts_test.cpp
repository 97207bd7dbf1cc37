// `runicorn artifacts ...` (download included) and `runicorn gc`, run as a subprocess against
// artifacts logged with the library.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "cli/cli.h"
#include "cli_fixture.h"
#include "runtrack/artifacts.h"
#include "server/app_context.h"

using namespace runicorn::testing;
using runicorn::cli::ProgressUnit;
using runtrack::ArtifactType;
namespace bj = boost::json;

namespace {

// Deterministic incompressible bytes (xorshift), so chunks are never shared by accident.
std::string Bytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&out[i], &x, std::min<size_t>(8, n - i));
  }
  return out;
}

runtrack::ArtifactStore OpenArtifacts(const CliEnv& env) {
  auto store = runtrack::ArtifactStore::Open(env.root());
  REQUIRE(store.ok());
  return std::move(*store);
}

// The source files of each logged version, by path inside the artifact.
struct Logged {
  std::map<std::string, std::string> model_v1, model_v2, data_v1;
};

// model v1 (weights.bin, config.json), model v2 (new weights, same config, sub/readme.txt),
// alias best -> v1; dataset data v1 (train.csv, 100000 bytes of its own).
Logged LogArtifacts(const CliEnv& env) {
  Logged l;
  l.model_v1 = {{"weights.bin", Bytes((3 << 20) + 123, 1)}, {"config.json", R"({"layers":50})"}};
  l.model_v2 = {{"weights.bin", Bytes((3 << 20) + 123, 2)},
                {"config.json", R"({"layers":50})"},
                {"sub/readme.txt", "hello\n"}};
  l.data_v1 = {{"train.csv", Bytes(100000, 3)}};
  auto store = OpenArtifacts(env);
  int logged = 0;
  auto log = [&](const std::string& name, ArtifactType type, const std::map<std::string, std::string>& files) {
    auto a = runtrack::Artifact::Create(name, type);
    REQUIRE(a.ok());
    const fs::path src = env.dir() / "src" / std::to_string(++logged);
    for (const auto& [path, bytes] : files) WriteAll(src / path, bytes);
    REQUIRE(a->AddDir(src).ok());
    auto v = store.Log(*a, "");
    REQUIRE(v.ok());
  };
  log("model", ArtifactType::kModel, l.model_v1);
  log("model", ArtifactType::kModel, l.model_v2);
  log("data", ArtifactType::kDataset, l.data_v1);
  REQUIRE(store.SetAlias("model", "best", 1).ok());
  return l;
}

// Every regular file below `dir`, by relative path.
std::map<std::string, std::string> Tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).generic_string()] = ReadAll(e.path());
  return out;
}

uint64_t Total(const std::map<std::string, std::string>& files) {
  uint64_t n = 0;
  for (const auto& [path, bytes] : files) n += bytes.size();
  return n;
}

}  // namespace

TEST_CASE("artifacts list, versions, info and stats as tables and JSON", "[cli][artifacts]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  auto store = OpenArtifacts(env);

  auto js = env.Run({"artifacts", "list", "--json"});
  REQUIRE(js.exit_code == 0);
  const bj::array list = js.json().as_array();
  REQUIRE(list.size() == 2);
  CHECK(list[0].at("name").as_string() == "data");
  CHECK(list[1].at("name").as_string() == "model");
  CHECK(list[1].at("num_versions").as_int64() == 2);
  CHECK(bj::serialize(list[1].at("aliases")) == R"({"best":1,"latest":2})");
  auto table = env.Run({"artifacts", "list"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out ==
        "NAME   TYPE     VERSIONS  LATEST  SIZE      UPDATED              ALIASES\n" +
            fmt::format("data   dataset  1         v1      97.7 KiB  {}  latest=v1\n",
                        UtcTime(list[0].at("updated_at").to_number<double>())) +
            fmt::format("model  model    2         v2      3.0 MiB   {}  best=v1,latest=v2\n",
                        UtcTime(list[1].at("updated_at").to_number<double>())));
  auto only_models = env.Run({"artifacts", "list", "--type", "model", "--json"});
  REQUIRE(only_models.json().as_array().size() == 1);

  auto versions = env.Run({"artifacts", "versions", "model", "--json"});
  REQUIRE(versions.exit_code == 0);
  const bj::array vs = versions.json().as_array();
  REQUIRE(vs.size() == 2);
  auto versions_table = env.Run({"artifacts", "versions", "model"});
  REQUIRE(versions_table.exit_code == 0);
  CHECK(versions_table.out ==
        "VERSION  STATUS  SIZE     FILES  CREATED BY  CREATED              ALIASES\n" +
            fmt::format("v1       ready   3.0 MiB  2      -           {}  best\n",
                        UtcTime(vs[0].at("created_at").to_number<double>())) +
            fmt::format("v2       ready   3.0 MiB  3      -           {}  latest\n",
                        UtcTime(vs[1].at("created_at").to_number<double>())));

  auto info = env.Run({"artifacts", "info", "model", "v2", "--json"});
  REQUIRE(info.exit_code == 0);
  auto lib = store.GetVersion("model", 2);
  REQUIRE(lib.ok());
  CHECK(info.json().at("manifest_digest").as_string() == lib->manifest_digest);
  CHECK(info.json().at("size_bytes").to_number<uint64_t>() == Total(l.model_v2));
  auto info_text = env.Run({"artifacts", "info", "model", "2"});
  REQUIRE(info_text.exit_code == 0);
  CHECK(info_text.out.find(fmt::format("size_bytes       {}\n", Total(l.model_v2))) != std::string::npos);
  CHECK(info_text.out.find("aliases          [\"latest\"]\n") != std::string::npos);
  CHECK(info_text.out.find("manifest_digest  " + lib->manifest_digest + "\n") != std::string::npos);

  auto stats = env.Run({"artifacts", "stats", "--json"});
  REQUIRE(stats.exit_code == 0);
  auto s = store.Stats();
  REQUIRE(s.ok());
  CHECK(stats.json().at("total_versions").to_number<uint64_t>() == 3);
  CHECK(stats.json().at("total_size_bytes").to_number<uint64_t>() == Total(l.model_v1) + Total(l.model_v2) + Total(l.data_v1));
  CHECK(stats.json().at("blob_pool_bytes").to_number<uint64_t>() == s->blob_pool_bytes);
  auto stats_text = env.Run({"artifacts", "stats"});
  REQUIRE(stats_text.exit_code == 0);
  CHECK(stats_text.out.rfind("artifacts        2\nversions         3 (0 soft-deleted)\nfiles            6\n", 0) == 0);

  auto missing = env.Run({"artifacts", "versions", "nope"});
  CHECK(missing.exit_code == 4);
  CHECK(missing.out.empty());
  CHECK(missing.err.rfind("runicorn: ", 0) == 0);
  CHECK(env.Run({"artifacts", "info", "model", "9"}).exit_code == 4);
  for (std::vector<std::string> args : {std::vector<std::string>{"artifacts"},
                                        {"artifacts", "bogus"},
                                        {"artifacts", "list", "extra"},
                                        {"artifacts", "info", "model"},
                                        {"artifacts", "list", "--bogus", "x"},
                                        {"artifacts", "list", "--progress"}}) {
    auto r = env.Run(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.rfind("usage: runicorn artifacts list", 0) == 0);
  }
}

TEST_CASE("artifacts alias set, list, remove and delete, restore", "[cli][artifacts]") {
  CliEnv env;
  LogArtifacts(env);
  auto set = env.Run({"artifacts", "alias", "set", "model", "v2", "prod"});
  REQUIRE(set.exit_code == 0);
  CHECK(set.out ==
        R"({"success":true,"name":"model","alias":"prod","version":2,"aliases":{"best":1,"latest":2,"prod":2}})"
        "\n");
  auto aliases = env.Run({"artifacts", "alias", "list", "model"});
  REQUIRE(aliases.exit_code == 0);
  CHECK(aliases.out == R"({"name":"model","aliases":{"best":1,"latest":2,"prod":2}})"
                       "\n");
  auto remove = env.Run({"artifacts", "alias", "remove", "model", "prod"});
  REQUIRE(remove.exit_code == 0);
  CHECK(OpenArtifacts(env).Aliases("model")->count("prod") == 0);
  CHECK(env.Run({"artifacts", "alias", "set", "model", "9", "x"}).exit_code == 4);
  CHECK(env.Run({"artifacts", "alias", "set", "model", "two", "x"}).exit_code == 2);
  CHECK(env.Run({"artifacts", "alias", "set", "model", "1"}).exit_code == 2);

  auto del = env.Run({"artifacts", "delete", "model", "1"});
  REQUIRE(del.exit_code == 0);
  CHECK(del.out == "Soft deleted model:v1 locally\n");
  CHECK(env.Run({"artifacts", "versions", "model", "--json"}).json().as_array().size() == 1);
  auto with_deleted = env.Run({"artifacts", "versions", "model", "--deleted", "--json"});
  REQUIRE(with_deleted.json().as_array().size() == 2);
  CHECK(with_deleted.json().as_array()[0].at("status").as_string() == "deleted");
  auto restore = env.Run({"artifacts", "restore", "model", "1"});
  REQUIRE(restore.exit_code == 0);
  CHECK(restore.out == "Restored model:v1\n");
  CHECK(env.Run({"artifacts", "delete", "model", "9"}).exit_code == 4);
}

TEST_CASE("artifacts download writes the version's files byte for byte", "[cli][artifacts][download]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  struct Case {
    std::vector<std::string> words;
    std::string artifact;
    const std::map<std::string, std::string>* files;
  };
  const Case cases[] = {{{"model"}, "model:v2", &l.model_v2},         {{"model:latest"}, "model:v2", &l.model_v2},
                        {{"model:v1"}, "model:v1", &l.model_v1},      {{"model:1"}, "model:v1", &l.model_v1},
                        {{"model", "1"}, "model:v1", &l.model_v1},    {{"model", "V2"}, "model:v2", &l.model_v2},
                        {{"model", "latest"}, "model:v2", &l.model_v2}, {{"model:best"}, "model:v1", &l.model_v1},
                        {{"model", "best"}, "model:v1", &l.model_v1}, {{"data"}, "data:v1", &l.data_v1}};
  int n = 0;
  for (const Case& c : cases) {
    const std::string out = (env.dir() / fmt::format("dl{}", n++)).string();
    std::vector<std::string> args{"artifacts", "download"};
    args.insert(args.end(), c.words.begin(), c.words.end());
    args.insert(args.end(), {"--output", out});
    auto r = env.Run(args);
    INFO(fmt::format("{}", fmt::join(c.words, " ")));
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(Tree(out) == *c.files);
    std::string size = c.files == &l.data_v1 ? "97.7 KiB" : "3.0 MiB";
    CHECK(r.out == fmt::format("downloaded {} ({} {}, {}) to {}\n", c.artifact, c.files->size(),
                               c.files->size() == 1 ? "file" : "files", size, out));
  }
  // No lineage: a command-line download is no run's use.
  CHECK(!fs::exists(env.root() / "artifacts" / "model" / "model" / "v1" / "uses"));
  CHECK(!fs::exists(env.root() / "artifacts" / ".lineage"));
}

TEST_CASE("artifacts download --json, and its progress bar under --progress", "[cli][artifacts][download]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  const std::string out = (env.dir() / "dl").string();
  auto js = env.Run({"artifacts", "download", "model:v1", "--output", out, "--json"});
  REQUIRE(js.exit_code == 0);
  CHECK(js.err.empty());
  const uint64_t size = Total(l.model_v1);
  CHECK(js.out == bj::serialize(bj::object{{"artifact", "model:v1"},
                                           {"name", "model"},
                                           {"version", 1},
                                           {"type", "model"},
                                           {"num_files", 2},
                                           {"size_bytes", size},
                                           {"output", out}}) +
                      "\n");
  CHECK(Tree(out) == l.model_v1);

  auto bar = env.Run({"artifacts", "download", "model:v1", "--output", out, "--json", "--progress"});
  REQUIRE(bar.exit_code == 0);
  CHECK(bar.out == js.out);  // the bar never reaches stdout
  auto lines = BarLines(bar.err);
  REQUIRE(lines.size() >= 2);
  CHECK(lines.front() == Bar("downloading model:v1", 0, size, ProgressUnit::kBytes));
  CHECK(WithoutRate(lines.back()) == Bar("downloading model:v1", size, size, ProgressUnit::kBytes));
  CHECK(lines.back().find("] 100%  3.0 MiB / 3.0 MiB  ") != std::string::npos);
  CHECK(bar.err.back() == '\n');
  CHECK(bar.err.find('\n') == bar.err.size() - 1);  // one line, redrawn in place
  CHECK(Tree(out) == l.model_v1);
}

TEST_CASE("on a terminal the bar is drawn by default, and not with --json or --no-progress", "[cli][artifacts][download][gc]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  const uint64_t size = Total(l.model_v2);
  const std::string out = (env.dir() / "dl").string();
  auto plain = env.Run({"artifacts", "download", "model", "--output", out}, {}, true);
  REQUIRE(plain.exit_code == 0);
  CHECK(plain.out == fmt::format("downloaded model:v2 (3 files, 3.0 MiB) to {}\n", out));
  auto lines = BarLines(plain.err);
  REQUIRE(lines.size() >= 2);
  CHECK(lines.front() == Bar("downloading model:v2", 0, size, ProgressUnit::kBytes));
  CHECK(WithoutRate(lines.back()) == Bar("downloading model:v2", size, size, ProgressUnit::kBytes));
  CHECK(plain.err.size() >= 2);
  CHECK(plain.err.compare(plain.err.size() - 2, 2, "\r\n") == 0);  // the terminal's "\n"

  auto json = env.Run({"artifacts", "download", "model", "--output", out, "--json"}, {}, true);
  REQUIRE(json.exit_code == 0);
  CHECK(json.err.empty());
  auto off = env.Run({"artifacts", "download", "model", "--output", out, "--no-progress"}, {}, true);
  REQUIRE(off.exit_code == 0);
  CHECK(off.err.empty());

  auto gc = env.Run({"gc"}, {}, true);
  REQUIRE(gc.exit_code == 0);
  REQUIRE(!BarLines(gc.err).empty());
  CHECK(BarLines(gc.err).front().rfind("scanning blobs [", 0) == 0);
  auto gc_json = env.Run({"gc", "--json"}, {}, true);
  REQUIRE(gc_json.exit_code == 0);
  CHECK(gc_json.err.empty());
  auto dry = env.Run({"gc", "--dry-run"}, {}, true);  // no scan, no bar
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.err.empty());
}

TEST_CASE("artifacts download failures: not found, deleted, bad usage", "[cli][artifacts][download]") {
  CliEnv env;
  LogArtifacts(env);
  auto store = OpenArtifacts(env);
  const std::string out = (env.dir() / "dl").string();
  for (std::string spec : {"nope", "model:v9", "model:nosuch"}) {
    auto r = env.Run({"artifacts", "download", spec, "--output", out, "--progress"});
    INFO(spec);
    CHECK(r.exit_code == 4);
    CHECK(r.out.empty());
    auto expected = store.Use(spec, "");
    REQUIRE(!expected.ok());
    CHECK(r.err == "runicorn: " + expected.status().message() + "\n");  // no bar before a failure
  }
  CHECK(!fs::exists(out));
  CHECK(env.Run({"artifacts", "download", "model", "9", "--output", out}).exit_code == 4);

  REQUIRE(store.Delete("model", 1).ok());
  auto deleted = env.Run({"artifacts", "download", "model:v1", "--output", out});
  CHECK(deleted.exit_code == 5);
  CHECK(deleted.err == "runicorn: model:v1 is deleted; restore it before using it\n");

  for (std::vector<std::string> args : {std::vector<std::string>{"artifacts", "download", "model"},
                                        {"artifacts", "download", "--output", out},
                                        {"artifacts", "download", "model", "--output", ""},
                                        {"artifacts", "download", "model:v1", "2", "--output", out},
                                        {"artifacts", "download", "model", "1", "2", "--output", out},
                                        {"artifacts", "download", "model:", "--output", out},
                                        {"artifacts", "download", ":v1", "--output", out},
                                        {"artifacts", "download", "model", "--output", out, "--type", "model"}}) {
    auto r = env.Run(args);
    INFO(fmt::format("{}", fmt::join(args, " ")));
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("usage: runicorn artifacts download NAME[:VERSION] --output DIR", 0) == 0);
  }
  // A flag without its value fails before the subcommand is known: the artifacts usage.
  auto no_value = env.Run({"artifacts", "download", "model", "--output"});
  CHECK(no_value.exit_code == 2);
  CHECK(no_value.err.rfind("usage: runicorn artifacts list", 0) == 0);
  CHECK(!fs::exists(out));
}

TEST_CASE("artifacts download works while a viewer holds the catalog", "[cli][artifacts][download]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  auto viewer = runicorn::server::AppContext::Open(env.root());
  REQUIRE(viewer.ok());
  auto busy = env.Run({"artifacts", "list"});
  CHECK(busy.exit_code == 3);
  const std::string out = (env.dir() / "dl").string();
  auto r = env.Run({"artifacts", "download", "model", "--output", out});
  REQUIRE(r.exit_code == 0);
  CHECK(Tree(out) == l.model_v2);
}

TEST_CASE("gc --dry-run and gc free exactly a permanently deleted version's chunks", "[cli][gc]") {
  CliEnv env;
  Logged l = LogArtifacts(env);
  auto store = OpenArtifacts(env);
  auto data_files = store.ListFiles("data", 1);
  REQUIRE(data_files.ok());
  const uint64_t data_chunks = data_files->files.at(0).num_chunks;
  const uint64_t data_bytes = Total(l.data_v1);

  auto clean = env.Run({"gc", "--dry-run", "--json"});
  REQUIRE(clean.exit_code == 0);
  auto stats = store.Stats();
  REQUIRE(stats.ok());
  CHECK(clean.out == bj::serialize(bj::object{{"dry_run", true},
                                              {"blob_pool_bytes", stats->blob_pool_bytes},
                                              {"referenced_bytes", stats->blob_pool_bytes},
                                              {"unreferenced_bytes", 0},
                                              {"grace_seconds", 3600}}) +
                         "\n");

  auto del = env.Run({"artifacts", "delete", "data", "1", "--permanent"});
  REQUIRE(del.exit_code == 0);
  auto dry = env.Run({"gc", "--dry-run", "--grace-seconds", "0"});
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.out == fmt::format("dry run: {} in the blob pool, {} referenced, up to 97.7 KiB reclaimable "
                               "(chunks younger than 0s are kept)\n",
                               runicorn::cli::FormatBytes(stats->blob_pool_bytes),
                               runicorn::cli::FormatBytes(stats->blob_pool_bytes - data_bytes)));

  // Chunks written a minute ago: inside the default hour of grace, outside --grace-seconds 0.
  uint64_t chunk_files = 0;
  size_t fanout_dirs = 0;
  for (const auto& d : fs::directory_iterator(env.root() / "blobs")) {
    ++fanout_dirs;
    for (const auto& f : fs::directory_iterator(d.path())) {
      struct timespec times[2];
      clock_gettime(CLOCK_REALTIME, &times[0]);
      times[0].tv_sec -= 60;
      times[1] = times[0];
      REQUIRE(::utimensat(AT_FDCWD, f.path().c_str(), times, 0) == 0);
      ++chunk_files;
    }
  }
  auto graced = env.Run({"gc", "--json"});
  REQUIRE(graced.exit_code == 0);
  CHECK(graced.out == bj::serialize(bj::object{{"dry_run", false},
                                               {"bytes_freed", 0},
                                               {"chunks_removed", 0},
                                               {"chunks_kept", chunk_files - data_chunks},
                                               {"chunks_in_grace", data_chunks}}) +
                          "\n");

  auto gc = env.Run({"gc", "--grace-seconds", "0", "--progress"});
  REQUIRE(gc.exit_code == 0);
  CHECK(gc.out == fmt::format("freed 97.7 KiB: {} chunks removed, {} kept, 0 unreferenced but within the grace period\n",
                              data_chunks, chunk_files - data_chunks));
  auto lines = BarLines(gc.err);
  REQUIRE(lines.size() >= 2);
  CHECK(lines.front() == Bar("scanning blobs", 0, fanout_dirs, ProgressUnit::kCount));
  CHECK(WithoutRate(lines.back()) == Bar("scanning blobs", fanout_dirs, fanout_dirs, ProgressUnit::kCount));
  CHECK(gc.err.find('\n') == gc.err.size() - 1);

  auto after = store.Stats();
  REQUIRE(after.ok());
  CHECK(after->blob_pool_bytes == stats->blob_pool_bytes - data_bytes);
  auto again = env.Run({"gc", "--grace-seconds", "0", "--json"});
  REQUIRE(again.exit_code == 0);
  CHECK(again.json().at("bytes_freed").to_number<uint64_t>() == 0);
  CHECK(again.json().at("chunks_removed").to_number<uint64_t>() == 0);
  // The model is untouched.
  const std::string out = (env.dir() / "dl").string();
  REQUIRE(env.Run({"artifacts", "download", "model:v1", "--output", out}).exit_code == 0);
  CHECK(Tree(out) == l.model_v1);
}
