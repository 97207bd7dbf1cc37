// POST /api/import/archive and GET /api/paths/export?format=zip (docs/API.md "Runicorn v0.6
// paths"): an exported zip imports into another viewer with every point intact, a second import
// adds nothing, Runicorn's own export layout is understood, hostile members (.., absolute
// paths, links) are skipped without writing outside, and bad uploads get exact 4xx answers.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <fstream>

#include "service/archive_service.h"
#include "v1_test_support.h"

using namespace runicorn::testing;
namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kBoundary = "----runicornArchiveBoundary";

HttpResult PostArchive(TestServer& srv, const std::string& bytes, const std::string& field = "file") {
  return PostRaw(srv.port(), "/api/import/archive", std::string("multipart/form-data; boundary=") + kBoundary,
                 MultipartBody({{field, bytes, "runs.zip"}}, kBoundary), "");
}

bj::value Body(const HttpResult& r, unsigned status = 200) {
  INFO(r.body);
  REQUIRE(r.status == status);
  return r.json();
}

void CheckSame(const bj::value& got, const bj::value& want) {
  INFO("got:  " << bj::serialize(got) << "\nwant: " << bj::serialize(want));
  CHECK(got == want);
}

struct Member {
  std::string name;
  std::string data;
  enum Kind { kFile, kDir, kSymlink, kHardlink } kind = kFile;
  std::string link;  // target of a link
};

// An archive built with libarchive: format "zip" or "tar.gz".
std::string MakeArchive(const std::string& format, const std::vector<Member>& members) {
  archive* a = archive_write_new();
  if (format == "zip") {
    archive_write_set_format_zip(a);
  } else {
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
  }
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buf.data(), buf.size(), &used) == ARCHIVE_OK);
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_perm(e, 0644);
    switch (m.kind) {
      case Member::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        break;
      case Member::kDir: archive_entry_set_filetype(e, AE_IFDIR); break;
      case Member::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, m.link.c_str());
        break;
      case Member::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, m.link.c_str());
        break;
    }
    REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
    if (m.kind == Member::kFile && !m.data.empty()) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// A minimal Runicorn run folder's files under `dir` (ending in '/').
std::vector<Member> RunicornRun(const std::string& dir, const std::string& id) {
  return {
      {dir + "meta.json", R"({"id":")" + id + R"(","project":"p","name":"n","created_at":1796280975.5})"},
      {dir + "status.json", R"({"status":"finished","started_at":1796280975.5,"ended_at":1796280980.25})"},
      {dir + "summary.json", R"({"epochs":3})"},
      {dir + "events.jsonl",
       R"({"ts":1796280976.0,"type":"metrics","data":{"loss":0.5,"global_step":1,"time":1796280976.0,"stage":"train"}})"
       "\n"
       R"({"ts":1796280977.0,"type":"metrics","data":{"loss":NaN,"global_step":2,"time":1796280977.0}})"
       "\n"},
  };
}

}  // namespace

TEST_CASE("archive: an exported zip imports into another viewer, every point intact, once", "[import_archive]") {
  ServerConfig big;
  big.body_limit = 8u << 20;
  TestServer from(big), to(big);
  const std::string a = MakeRun(from.store(), "cv", "resnet", 25);
  const std::string b = MakeRun(from.store(), "cv", "vit", 12, {}, 1.0, runtrack::RunStatus::kFailed);
  MakeRun(from.store(), "nlp", "bert", 3);
  from.Sync();
  HttpClient fc(from.port()), tc(to.port());
  HttpResult zip = fc.Get("/api/paths/export?path=cv&format=zip");
  REQUIRE(zip.status == 200);
  CHECK(zip.header("content-type") == "application/zip");
  CHECK(zip.header("content-disposition") == "attachment; filename=\"runicorn_export_cv.zip\"");

  bj::object got = Body(PostArchive(to, zip.body)).as_object();
  std::vector<std::string> ids;
  for (const auto& v : got.at("new_run_ids").as_array()) ids.emplace_back(v.as_string());
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> want{a, b};
  std::sort(want.begin(), want.end());
  CHECK(ids == want);
  CHECK(got.at("ok") == true);
  CHECK(got.at("storage") == bj::value(to.store().root().string()));
  CHECK(got.at("new_run_dirs").as_array().size() == 2);
  CHECK(got.at("existing_runs").as_array().empty());
  // index.json + 2 runs x (meta, status, summary, events, logs).
  CHECK(got.at("imported_files") == 11);
  to.Sync();
  for (const auto& id : want) {
    INFO(id);
    bj::value src = Body(fc.Get("/api/runs/" + id + "/metrics_step"));
    bj::value dst = Body(tc.Get("/api/runs/" + id + "/metrics_step"));
    CheckSame(dst, src);  // values, steps, stages and wall times, bit for bit
    bj::object rs = Body(fc.Get("/api/runs/" + id)).as_object(), rd = Body(tc.Get("/api/runs/" + id)).as_object();
    CHECK(rd.at("status") == rs.at("status"));
    CHECK(rd.at("project") == rs.at("project"));
    CHECK(rd.at("name") == rs.at("name"));
    CHECK(rd.at("created_time") == rs.at("created_time"));
  }
  CHECK(Body(tc.Get("/api/paths")).at("paths") == bj::array{"cv/resnet", "cv/vit"});

  bj::object again = Body(PostArchive(to, zip.body)).as_object();
  CHECK(again.at("new_run_ids").as_array().empty());
  CHECK(again.at("existing_runs").as_array().size() == 2);
}

TEST_CASE("archive: Runicorn's own export layout and a tar.gz both import", "[import_archive]") {
  TestServer srv;
  HttpClient c(srv.port());
  const std::string id = "20261203_065616_44d2df";
  // Runicorn v0.6's /paths/export zip: index.json and <run_id>/... at the top.
  std::vector<Member> members = RunicornRun(id + "/", id);
  members.push_back({"index.json", R"({"path":"","exact":false,"total_runs":1,"runs":[]})"});
  bj::object got = Body(PostArchive(srv, MakeArchive("zip", members))).as_object();
  CheckSame(got.at("new_run_ids"), bj::array{bj::value(id)});
  CHECK(got.at("imported_files") == 5);
  srv.Sync();
  bj::object rows = Body(c.Get("/api/runs/" + id + "/metrics_step")).as_object();
  CheckSame(rows.at("rows"), bj::parse(R"([
      {"global_step":1,"loss":0.5,"time":1796280976.0,"stage":"train"},
      {"global_step":2,"loss":null,"time":1796280977.0,"stage":null}])"));

  const std::string id2 = "20261203_065617_0a1b2c";
  bj::object tgz = Body(PostArchive(srv, MakeArchive("tar.gz", RunicornRun("proj/exp/runs/" + id2 + "/", id2)))).as_object();
  CheckSame(tgz.at("new_run_ids"), bj::array{bj::value(id2)});
}

TEST_CASE("archive: links and members escaping the root are skipped, nothing lands outside", "[import_archive]") {
  TestServer srv;
  const std::string id = "20261203_065618_dddddd";
  const std::string marker = "runicorn-archive-escape-" + std::to_string(::getpid());
  std::vector<Member> members = RunicornRun("runs/vision/" + id + "/", id);
  members.push_back({"../" + marker, "escaped"});
  members.push_back({"../../" + marker, "escaped"});
  members.push_back({"/tmp/" + marker, "escaped"});
  members.push_back({"runs/vision/" + id + "/media", "", Member::kSymlink, "/etc"});
  members.push_back({"runs/evil", "", Member::kSymlink, "/"});
  members.push_back({"runs/vision/" + id + "/logs.txt", "", Member::kHardlink, "/etc/passwd"});
  members.push_back({"runs/vision/" + id + "/summary.json", R"({"dup":1})"});
  const std::string tgz = MakeArchive("tar.gz", members);
  bj::object got = Body(PostArchive(srv, tgz)).as_object();
  CheckSame(got.at("new_run_ids"), bj::array{bj::value(id)});
  CHECK(got.at("imported_files") == 4);
  // The archive's refused members come first (then whatever the importer reports).
  const bj::array& all = got.at("skipped").as_array();
  REQUIRE(all.size() >= 7);
  const bj::array skipped(all.begin(), all.begin() + 7);
  const std::string dots = "refused member name: path leaves the archive root ('..')";
  auto item = [](const std::string& name, const std::string& reason) {
    return bj::object{{"item", name}, {"reason", reason}};
  };
  CheckSame(skipped, bj::array{item("../" + marker, dots), item("../../" + marker, dots),
                               item("/tmp/" + marker, "refused member name: absolute path"),
                               item("runs/vision/" + id + "/media", "symbolic link"),
                               item("runs/evil", "symbolic link"),
                               item("runs/vision/" + id + "/logs.txt", "hard link"),
                               item("runs/vision/" + id + "/summary.json", "repeats an earlier member")});
  std::error_code ec;
  CHECK_FALSE(fs::exists(fs::temp_directory_path() / marker, ec));
  CHECK_FALSE(fs::exists(srv.dir() / marker, ec));
  CHECK_FALSE(fs::exists(srv.store().root() / marker, ec));
  CHECK_FALSE(fs::exists(srv.store().root().parent_path().parent_path() / marker, ec));
  // No temporary folder of the import is left behind.
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path()))
    CHECK(e.path().filename().string().rfind("runicorn-import-", 0) != 0);
}

TEST_CASE("archive: bad uploads get exact 4xx answers and import nothing", "[import_archive]") {
  TestServer srv;
  HttpClient c(srv.port());
  HttpResult r = PostArchive(srv, "this is not an archive at all");
  CHECK(r.status == 400);
  CHECK(r.detail().rfind("Invalid archive: ", 0) == 0);
  r = PostArchive(srv, "");
  CHECK(r.status == 400);
  CHECK(r.detail() == "Invalid archive: the file is empty");
  r = PostArchive(srv, "PK", "upload");
  CHECK(r.status == 400);
  CHECK(r.detail() == "Field 'file' is required");
  r = c.Post("/api/import/archive", R"({"file": "x"})");
  CHECK(r.status == 400);
  CHECK(r.detail() == "Send the archive as multipart/form-data with a field 'file'");
  r = PostRaw(srv.port(), "/api/import/archive", "text/plain", "x", "");
  CHECK(r.status == 415);
  // The server's body limit applies (64 KiB in the fixture).
  r = PostArchive(srv, std::string(80 * 1024, 'x'));
  CHECK(r.status == 413);
  // A truncated zip: corrupt, nothing imported.
  std::string zip = MakeArchive("zip", RunicornRun("runs/" + std::string("20261203_065619_eeeeee/"), "20261203_065619_eeeeee"));
  r = PostArchive(srv, zip.substr(0, zip.size() / 2));
  CHECK(r.status == 400);
  CHECK(r.detail().rfind("Invalid archive: ", 0) == 0);
  srv.Sync();
  CHECK(c.Get("/api/runs").json().as_array().empty());
}

TEST_CASE("archive: extraction caps total bytes and member count", "[import_archive]") {
  runtrack::testing::TempDir dir;
  const std::string tgz = MakeArchive("tar.gz", {{"a", std::string(1000, 'a')}, {"b", std::string(1000, 'b')}});
  fs::path file = dir.path() / "x.tgz";
  std::ofstream(file, std::ios::binary) << tgz;
  std::vector<runtrack::SkippedItem> skipped;
  fs::create_directory(dir.path() / "out1");
  auto r = runicorn::service::ExtractArchive(file, dir.path() / "out1", {1500, 100}, &skipped);
  CHECK(r.status().message() == "Invalid archive: it holds more than 1500 bytes of files");
  fs::create_directory(dir.path() / "out2");
  r = runicorn::service::ExtractArchive(file, dir.path() / "out2", {1u << 20, 1}, &skipped);
  CHECK(r.status().message() == "Invalid archive: more than 1 members");
  fs::create_directory(dir.path() / "out3");
  r = runicorn::service::ExtractArchive(file, dir.path() / "out3", {1u << 20, 100}, &skipped);
  REQUIRE(r.ok());
  CHECK(*r == 2);
  CHECK(skipped.empty());
}
