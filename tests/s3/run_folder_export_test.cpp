// Every read of a run folder on a replica that does not hold the run (docs/SCALE-OUT.md "Run logs
// and run files in the bucket"): the run archive export (GET /api/paths/export?format=zip) and the
// environment panel (GET /api/environment/{id}) of runs replica A holds, answered by replica B
// (both real `runicorn viewer --catalog … --objects …` processes on PostgreSQL 15 + Ceph RGW) from
// what A published, with A's bytes. Damaged and missing objects fail the export as a whole (no zip,
// no temporary file left); links and traversal paths are never read, here or there.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "catalog/catalog_support.h"
#include "rgw_test_server.h"

#ifdef RUNICORN_HAVE_PG
#include "runtrack/layout.h"
#include "service/pg/pg_run_files.h"
#include "service/run_folder_files.h"
#include "service/s3/object_run_files.h"
#include "two_replicas_fixture.h"
#include "util/files.h"

namespace fs = std::filesystem;
using namespace runicorn::testing::two_replicas;
using runicorn::service::RunFolderFiles;

namespace {

// A zip's members in archive order: name and bytes.
std::vector<std::pair<std::string, std::string>> Members(const std::string& zip) {
  std::vector<std::pair<std::string, std::string>> out;
  archive* a = archive_read_new();
  archive_read_support_format_zip(a);
  REQUIRE(archive_read_open_memory(a, zip.data(), zip.size()) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data;
    char buf[65536];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) data.append(buf, static_cast<size_t>(n));
    out.emplace_back(archive_entry_pathname(e), std::move(data));
  }
  archive_read_free(a);
  return out;
}

std::vector<std::string> Names(const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.first);
  return out;
}

std::string Member(const std::vector<std::pair<std::string, std::string>>& members, const std::string& name) {
  for (const auto& m : members)
    if (m.first == name) return m.second;
  FAIL("no member " << name);
  return "";
}

std::string Detail(const std::string& body) {
  return std::string(boost::json::parse(body).as_object().at("detail").as_string());
}

// Files in `dir` whose name starts with `prefix`.
size_t Leftovers(const fs::path& dir, const std::string& prefix) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

}  // namespace

TEST_CASE("a replica exports and shows the environment of runs another replica holds, with its bytes",
          "[s3][rgw][pg][run_files][export]") {
  RUNICORN_S3_TEST_SERVER(rgw);
  runtrack::testing::TempDir tmp;
  TeamBackEnd team;
  if (!team.Start(rgw, "runexport", tmp.path())) return;
  const fs::path root_a = tmp.path() / "a", root_b = tmp.path() / "b", root_c = tmp.path() / "c";
  const runtrack::StoreLayout layout_a(root_a);

  // A's store. Run `id` (path team/exp): metrics in two stages, a log, a summary whose key order
  // JSONB would not keep, images in media/ and media/sub/ (one of 1 MiB + 77 bytes: two range
  // windows), an environment, and what is never exported: a name the path check refuses, a link
  // to a file outside the run and a link to a folder outside it. Run `big` (team/big): an
  // environment.json one byte over the panel's 16 MiB cap. Run `live` (live/now): still written.
  const std::string png = RandomBytes(4000, 1), sub = RandomBytes((1u << 20) + 77, 2);
  const std::string images =
      "{\"key\":\"sample\",\"path\":\"media/a.png\",\"step\":3,\"caption\":\"first\",\"time\":1700000000.5}\n"
      "{\"key\":\"deep\",\"path\":\"media/sub/b.png\",\"step\":7,\"time\":1700000001}";  // no final newline
  const std::string environment =
      "{\"python\":\"3.11.4\",\"packages\":[\"numpy==1.26.0\",\"torch==2.1\"],\"gpu\":{\"name\":\"A100\","
      "\"memory_gb\":80,\"util\":0.125}}";
  std::string big_environment = "{\"pip\":\"" + std::string((16u << 20) + 1 - 10, 'x') + "\"}";
  REQUIRE(big_environment.size() == (16u << 20) + 1);
  fs::create_directories(tmp.path() / "outside" / "dir");
  REQUIRE(runtrack::util::WriteFileAtomic(tmp.path() / "outside" / "secret.txt", "not a run file").ok());
  REQUIRE(runtrack::util::WriteFileAtomic(tmp.path() / "outside" / "dir" / "x.png", "not a run file").ok());

  std::string id, big, log;
  auto store = runtrack::testing::OpenStore(root_a);
  {
    runtrack::RunOptions options;
    options.path = "team/exp";
    auto run = runtrack::testing::NewRun(*store, options);
    id = run->id();
    for (int step = 1; step <= 300; ++step) {
      REQUIRE(run->Log({{"loss", 1.0 / step}, {"acc", step / 301.0}}, step, step <= 200 ? "train" : "eval").ok());
      if (step % 3 != 0) continue;
      const std::string line = fmt::format("step {} loss {:.6f} ✓", step, 1.0 / step);
      REQUIRE(run->LogText(line).ok());
      log += line + "\n";
    }
    REQUIRE(run->Summary(boost::json::object{{"zeta", 1},
                                             {"alpha", 0.25},
                                             {"nested", boost::json::object{{"b", "two"}, {"a", -3.5}}},
                                             {"mid", "text"}})
                .ok());
    fs::create_directories(layout_a.media_dir(id) / "sub");
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.media_dir(id) / "a.png", png).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.media_dir(id) / "sub" / "b.png", sub).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.media_dir(id) / "images.jsonl", images).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.media_dir(id) / "evil\\name.png", "x").ok());
    fs::create_symlink(tmp.path() / "outside" / "secret.txt", layout_a.media_dir(id) / "leak.png");
    fs::create_directory_symlink(tmp.path() / "outside" / "dir", layout_a.media_dir(id) / "linkdir");
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.environment_path(id), environment).ok());
    REQUIRE(run->Finish().ok());
  }
  {
    runtrack::RunOptions options;
    options.path = "team/big";
    auto run = runtrack::testing::NewRun(*store, options);
    big = run->id();
    for (int step = 0; step < 50; ++step) REQUIRE(run->Log(step, "loss", 0.5 + step).ok());
    REQUIRE(runtrack::util::WriteFileAtomic(layout_a.environment_path(big), big_environment).ok());
    REQUIRE(run->Finish().ok());
  }
  runtrack::RunOptions live_options;
  live_options.path = "live/now";
  auto live = runtrack::testing::NewRun(*store, live_options);
  REQUIRE(live->Log(1, "loss", 0.5).ok());
  REQUIRE(runtrack::util::WriteFileAtomic(layout_a.environment_path(live->id()), environment).ok());
  REQUIRE(live->Flush().ok());

  std::optional<Replica> a;
  a.emplace(root_a, team, tmp.path() / "out-a");
  INFO(a->process->err());
  // Published: the files (not the links, nor the refused name), and the sealed series indexed.
  const std::string files_sql = "SELECT string_agg(path || ':' || size, ',' ORDER BY path) FROM run_files WHERE run_id = $1";
  REQUIRE(WaitFor([&] {
    return One(team.conninfo, files_sql, id) ==
           fmt::format("environment.json:{},media/a.png:4000,media/images.jsonl:{},media/sub/b.png:{}",
                       environment.size(), images.size(), sub.size());
  }));
  REQUIRE(WaitFor([&] {
    return One(team.conninfo, files_sql, big) == fmt::format("environment.json:{}", big_environment.size());
  }));
  const std::string series_sql = "SELECT count(*) FROM segments WHERE run_id = $1";
  REQUIRE(WaitFor([&] { return One(team.conninfo, series_sql, id) == "2" && One(team.conninfo, series_sql, big) == "1"; }));

  // B: its own empty store, and a private TMPDIR to see that a failed export leaves no zip behind.
  const fs::path b_tmp = tmp.path() / "b-tmp";
  fs::create_directories(b_tmp);
  std::optional<Replica> b;
  b.emplace(root_b, team, tmp.path() / "out-b", std::map<std::string, std::string>{{"TMPDIR", b_tmp.string()}});

  const std::string export_team = "/api/paths/export?path=team&format=zip";
  auto from_a = Get(a->port, export_team);
  REQUIRE(from_a.first == 200);
  auto from_b = Get(b->port, export_team);
  INFO(from_b.second.substr(0, 500));
  REQUIRE(from_b.first == 200);
  const auto members_a = Members(from_a.second), members_b = Members(from_b.second);

  // A's zip, exactly: the members of both runs; links, the refused name and the media index left out.
  std::vector<std::string> names = Names(members_a);
  std::sort(names.begin(), names.end());
  const std::string run_dir = "runs/team/exp/" + id + "/", big_dir = "runs/team/big/" + big + "/";
  std::vector<std::string> expected = {"index.json"};
  for (const char* f : {"environment.json", "events.jsonl", "logs.txt", "meta.json", "status.json", "summary.json"})
    expected.push_back(big_dir + f);
  for (const char* f : {"environment.json", "events.jsonl", "logs.txt", "media/a.png", "media/sub/b.png", "meta.json",
                        "status.json", "summary.json"})
    expected.push_back(run_dir + f);
  std::sort(expected.begin(), expected.end());
  CHECK(names == expected);
  CHECK(Member(members_a, run_dir + "media/a.png") == png);
  CHECK(Member(members_a, run_dir + "media/sub/b.png") == sub);
  CHECK(Member(members_a, run_dir + "environment.json") == environment);
  CHECK(Member(members_a, big_dir + "environment.json") == big_environment);
  CHECK(Member(members_a, run_dir + "summary.json") ==
        "{\"alpha\":2.5E-1,\"mid\":\"text\",\"nested\":{\"a\":-3.5E0,\"b\":\"two\"},\"zeta\":1}");
  const std::string events = Member(members_a, run_dir + "events.jsonl");
  CHECK(events.find("\"type\": \"image\", \"data\": {\"key\":\"sample\",\"path\":\"media/a.png\",\"step\":3,"
                    "\"caption\":\"first\"}}\n") != std::string::npos);
  CHECK(events.find("\"type\": \"image\", \"data\": {\"key\":\"deep\",\"path\":\"media/sub/b.png\",\"step\":7,"
                    "\"caption\":null}}\n") != std::string::npos);
  CHECK(std::count(events.begin(), events.end(), '\n') == 302);  // 300 steps, 2 images
  CHECK(Member(members_a, run_dir + "logs.txt") == log);

  // B's zip: the same members in the same order, byte for byte.
  REQUIRE(Names(members_b) == Names(members_a));
  for (size_t i = 0; i < members_a.size(); ++i) {
    INFO(members_a[i].first);
    CHECK(members_b[i].second.size() == members_a[i].second.size());
    CHECK(members_b[i].second == members_a[i].second);
  }

  // The environment panel: B answers A's bytes; over the cap, both "not captured".
  const auto env_a = Get(a->port, "/api/environment/" + id);
  CHECK(env_a == std::pair<long, std::string>{200, "{\"available\":true,\"environment\":" + environment + "}"});
  CHECK(Get(b->port, "/api/environment/" + id) == env_a);
  CHECK(Get(a->port, "/api/environment/" + big) == std::pair<long, std::string>{200, "{\"available\":false}"});
  CHECK(Get(b->port, "/api/environment/" + big) == std::pair<long, std::string>{200, "{\"available\":false}"});
  // The live run: its files are on A's disk only; B answers as it did before it read the bucket
  // (not captured; the export of its path fails with the metric reader's 409, no zip).
  CHECK(Get(a->port, "/api/environment/" + live->id()) == env_a);
  CHECK(Get(b->port, "/api/environment/" + live->id()) == std::pair<long, std::string>{200, "{\"available\":false}"});
  auto live_export = Get(b->port, "/api/paths/export?path=live&format=zip");
  CHECK(live_export.first == 409);
  CHECK(Detail(live_export.second).rfind(fmt::format("run {} is live on the replica that owns it", live->id()), 0) == 0);
  CHECK(Leftovers(b_tmp, "runicorn-export-") == 0);

  // A damaged object: the export fails as a whole with the Corruption, and no zip is left.
  const std::string sub_key =
      One(team.conninfo, "SELECT object_key FROM run_files WHERE run_id = $1 AND path = 'media/sub/b.png'", id);
  const std::string sub_sha =
      One(team.conninfo, "SELECT sha256 FROM run_files WHERE run_id = $1 AND path = 'media/sub/b.png'", id);
  std::string damaged = sub;
  damaged[sub.size() - 10] ^= 0x40;
  REQUIRE(team.bucket->PutObject(sub_key, damaged).ok());
  auto broken = Get(b->port, export_team);
  CHECK(broken.first == 500);
  CHECK(Detail(broken.second) ==
        fmt::format("run file media/sub/b.png of run {} in the bucket ({}) does not match its SHA-256 {}", id, sub_key,
                    sub_sha));
  CHECK(Leftovers(b_tmp, "runicorn-export-") == 0);
  // ... and a missing one.
  REQUIRE(team.bucket->DeleteObject(sub_key).ok());
  broken = Get(b->port, export_team);
  CHECK(broken.first == 500);
  CHECK(Detail(broken.second).rfind(fmt::format("the file media/sub/b.png of run {} was published to {} but cannot be "
                                                "read: s3: ",
                                                id, sub_key),
                                    0) == 0);
  CHECK(Leftovers(b_tmp, "runicorn-export-") == 0);
  REQUIRE(team.bucket->PutObject(sub_key, sub).ok());
  auto repaired = Get(b->port, export_team);
  REQUIRE(repaired.first == 200);
  CHECK(Members(repaired.second) == members_b);

  // A damaged environment: the panel answers the Corruption, never a wrong environment.
  const std::string env_key =
      One(team.conninfo, "SELECT object_key FROM run_files WHERE run_id = $1 AND path = 'environment.json'", id);
  std::string env_damaged = environment;
  env_damaged[12] = '2';  // still JSON, other bytes
  REQUIRE(team.bucket->PutObject(env_key, env_damaged).ok());
  auto env_broken = Get(b->port, "/api/environment/" + id);
  CHECK(env_broken.first == 500);
  CHECK(Detail(env_broken.second) ==
        fmt::format("run file environment.json of run {} in the bucket ({}) does not match its SHA-256 {}", id, env_key,
                    One(team.conninfo, "SELECT sha256 FROM run_files WHERE run_id = $1 AND path = 'environment.json'", id)));
  REQUIRE(team.bucket->PutObject(env_key, environment).ok());
  CHECK(Get(b->port, "/api/environment/" + id) == env_a);
  a.reset();
  b.reset();

  // RunFolderFiles itself, on A's folder and from the bucket (C: an empty store): the same
  // listing; links absent; traversal refused before anything is opened.
  auto index = runicorn::service::pg::PgRunFiles::Open(team.conninfo);
  REQUIRE(index.ok());
  auto source = std::make_shared<runicorn::service::s3::ObjectRunFiles>(std::move(*index), team.bucket);
  const runtrack::StoreLayout layout_c(root_c);
  fs::create_directories(layout_c.runs_dir());
  RunFolderFiles local(layout_a), remote(layout_c);
  local.UseRemoteFiles(source);  // A's store holds the run: still read locally
  remote.UseRemoteFiles(source);
  CHECK_FALSE(local.Remote(id));
  CHECK(remote.Remote(id));
  const std::vector<std::string> listed = {"media/a.png", "media/images.jsonl", "media/sub/b.png"};
  for (RunFolderFiles* files : {&local, &remote}) {
    auto media = files->List(id, "media");
    REQUIRE(media.ok());
    std::vector<std::string> paths;
    for (const auto& f : *media) paths.push_back(f.path);
    CHECK(paths == listed);
    CHECK(files->Size(id, "media/leak.png")->has_value() == false);
    CHECK(files->Size(id, "media/linkdir/x.png")->has_value() == false);
    CHECK(files->Open(id, "media/leak.png").status().ToString() == "not_found: Run file not found");
    CHECK(files->Open(id, "media/linkdir/x.png").status().ToString() == "not_found: Run file not found");
    CHECK(files->Open(id, "../" + big + "/environment.json").status().ToString() ==
          fmt::format("invalid_argument: run file path \"../{}/environment.json\" has an empty, \".\" or \"..\" component",
                      big));
    CHECK(files->Open(id, "/etc/passwd").status().ToString() == "invalid_argument: run file path \"/etc/passwd\" is absolute");
    CHECK(files->List(id, "media/../..").status().code() == runtrack::StatusCode::kInvalidArgument);
    CHECK(files->Open("../../etc", "passwd").status().code() == runtrack::StatusCode::kInvalidArgument);
    auto stream = files->Open(id, "media/sub/b.png");
    REQUIRE(stream.ok());
    runtrack::Status status = runtrack::Status::Ok();
    CHECK(ReadAll(**stream, &status) == sub);
    CHECK(status.ok());
  }
  // A local file that shrinks while read is an error, never a short member passed off as whole.
  {
    auto stream = local.Open(id, "media/sub/b.png");
    REQUIRE(stream.ok());
    fs::resize_file(layout_a.media_dir(id) / "sub" / "b.png", 1000);
    runtrack::Status status = runtrack::Status::Ok();
    CHECK(ReadAll(**stream, &status).size() == 1000);
    CHECK(status.ToString() ==
          fmt::format("io_error: the file media/sub/b.png of run {} shrank while being read (1000 of {} bytes)", id,
                      sub.size()));
  }
}

#endif  // RUNICORN_HAVE_PG
