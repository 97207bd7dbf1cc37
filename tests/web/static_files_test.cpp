// The web UI's static file server (apps/runicorn/static): path safety, content types, caching.
// static_files.cpp has no dependency beyond the standard library; it is compiled into this program
// directly because test_web links only runtrack::runtrack.
#include "../../apps/runicorn/static/static_files.cpp"

#include <catch2/catch.hpp>

#include <fstream>

#include "test_support.h"

using runicorn::web::CacheControlFor;
using runicorn::web::ContentTypeFor;
using runicorn::web::ResolveTarget;
using runicorn::web::StaticFiles;
using runtrack::testing::TempDir;

namespace {

void WriteFile(const std::filesystem::path& path, std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

struct WebRoot {
  TempDir dir;
  std::filesystem::path root = dir.path() / "web";
  WebRoot() {
    WriteFile(root / "index.html", "<!doctype html><title>runicorn</title>");
    WriteFile(root / "app.js", "export const x = 1;\n");
    WriteFile(root / "style.css", "body{}");
    WriteFile(root / "app.0123abcd.js", "hashed");
    WriteFile(root / "vendor/uplot-1.6.32/uPlot.iife.min.js", "var uPlot;");
    WriteFile(root / "vendor/uplot-1.6.32/uPlot.min.css", ".u{}");
    WriteFile(dir.path() / "secret.txt", "outside the root");
    WriteFile(root / ".hidden", "dotfile");
  }
};

}  // namespace

TEST_CASE("root serves index.html as html that is always revalidated") {
  WebRoot w;
  StaticFiles files(w.root);
  auto r = files.Serve("GET", "/");
  REQUIRE(r.status == 200);
  CHECK(r.body == "<!doctype html><title>runicorn</title>");
  CHECK(r.content_type == "text/html; charset=utf-8");
  CHECK(r.cache_control == "no-cache");
  CHECK(!r.etag.empty());
  CHECK(r.content_length == r.body.size());

  auto same = files.Serve("GET", "/index.html?v=2#frag");
  CHECK(same.status == 200);
  CHECK(same.body == r.body);
}

TEST_CASE("content types follow the extension, text types carry utf-8") {
  CHECK(ContentTypeFor("app.js") == "text/javascript; charset=utf-8");
  CHECK(ContentTypeFor("x/y.MJS") == "text/javascript; charset=utf-8");
  CHECK(ContentTypeFor("style.css") == "text/css; charset=utf-8");
  CHECK(ContentTypeFor("a.svg") == "image/svg+xml; charset=utf-8");
  CHECK(ContentTypeFor("a.json") == "application/json; charset=utf-8");
  CHECK(ContentTypeFor("favicon.ico") == "image/x-icon");
  CHECK(ContentTypeFor("a.png") == "image/png");
  CHECK(ContentTypeFor("a.woff2") == "font/woff2");
  CHECK(ContentTypeFor("README") == "application/octet-stream");
  CHECK(ContentTypeFor("dir.v1/README") == "application/octet-stream");
  CHECK(ContentTypeFor("a.bin") == "application/octet-stream");

  WebRoot w;
  StaticFiles files(w.root);
  CHECK(files.Serve("GET", "/app.js").content_type == "text/javascript; charset=utf-8");
  CHECK(files.Serve("GET", "/style.css").content_type == "text/css; charset=utf-8");
}

TEST_CASE("vendor and content-hashed files are cached for a year, the rest revalidated") {
  CHECK(CacheControlFor("index.html") == "no-cache");
  CHECK(CacheControlFor("app.js") == "no-cache");
  CHECK(CacheControlFor("pages/run.js") == "no-cache");
  CHECK(CacheControlFor("vendor/uplot-1.6.32/uPlot.iife.min.js") ==
        "public, max-age=31536000, immutable");
  CHECK(CacheControlFor("app.0123abcd.js") == "public, max-age=31536000, immutable");
  CHECK(CacheControlFor("assets/chunk.deadbeef99.css") == "public, max-age=31536000, immutable");
  CHECK(CacheControlFor("app.1234.js") == "no-cache");       // too short to be a hash
  CHECK(CacheControlFor("uPlot.iife.min.js") == "no-cache");  // "iife" is not hex
  CHECK(CacheControlFor("vendorx/a.js") == "no-cache");

  WebRoot w;
  StaticFiles files(w.root);
  auto r = files.Serve("GET", "/vendor/uplot-1.6.32/uPlot.min.css");
  REQUIRE(r.status == 200);
  CHECK(r.cache_control == "public, max-age=31536000, immutable");
  CHECK(r.content_type == "text/css; charset=utf-8");
}

TEST_CASE("a matching If-None-Match answers 304 without a body, a changed file does not match") {
  WebRoot w;
  StaticFiles files(w.root);
  auto first = files.Serve("GET", "/app.js");
  REQUIRE(first.status == 200);
  auto again = files.Serve("GET", "/app.js", first.etag);
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  CHECK(again.etag == first.etag);
  CHECK(files.Serve("GET", "/app.js", "\"other\", W/" + first.etag).status == 304);
  CHECK(files.Serve("GET", "/app.js", "*").status == 304);
  CHECK(files.Serve("GET", "/app.js", "\"other\"").status == 200);

  WriteFile(w.root / "app.js", "export const x = 2;\n");
  auto changed = files.Serve("GET", "/app.js", first.etag);
  CHECK(changed.status == 200);
  CHECK(changed.body == "export const x = 2;\n");
  CHECK(changed.etag != first.etag);
}

TEST_CASE("HEAD gives the headers and length without the body, other methods are 405") {
  WebRoot w;
  StaticFiles files(w.root);
  auto head = files.Serve("HEAD", "/app.js");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.content_length == std::string("export const x = 1;\n").size());
  CHECK(files.Serve("POST", "/app.js").status == 405);
  CHECK(files.Serve("DELETE", "/").status == 405);
}

TEST_CASE("traversal and malformed targets are refused before touching the file system") {
  const char* bad[] = {
      "/../secret.txt",
      "/vendor/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/.%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/vendor/%2e%2e%2f%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/..\\secret.txt",
      "/vendor\\..\\..\\secret.txt",
      "/app.js%00.html",
      "/./app.js",
      "/.hidden",
      "/a//b.js",
      "/vendor/",
      "/%252e%252e/secret.txt",  // double encoding
      "/%zz",
      "/%2",
      "/%",
      "/C:%5cwindows",
      "relative/path",
      "",
      "http://example.com/app.js",
      "*",
      "/line%0abreak",
  };
  for (const char* target : bad) {
    INFO(target);
    CHECK(!ResolveTarget(target).has_value());
  }
  // A NUL inside the target itself (not only percent-encoded).
  CHECK(!ResolveTarget(std::string_view("/app.js\0.html", 13)).has_value());

  WebRoot w;
  StaticFiles files(w.root);
  auto r = files.Serve("GET", "/%2e%2e/secret.txt");
  CHECK(r.status == 400);
  CHECK(r.body.find("outside") == std::string::npos);
  CHECK(r.cache_control == "no-store");
  CHECK(files.Serve("GET", "/../secret.txt").status == 400);
  CHECK(files.Serve("GET", "/.hidden").status == 400);
}

TEST_CASE("safe targets resolve to a path relative to the root") {
  CHECK(ResolveTarget("/") == std::optional<std::string>("index.html"));
  CHECK(ResolveTarget("/?q=1") == std::optional<std::string>("index.html"));
  CHECK(ResolveTarget("/app.js") == std::optional<std::string>("app.js"));
  CHECK(ResolveTarget("/vendor/uplot-1.6.32/uPlot.min.css?x") ==
        std::optional<std::string>("vendor/uplot-1.6.32/uPlot.min.css"));
  CHECK(ResolveTarget("/my%20file.js") == std::optional<std::string>("my file.js"));
  CHECK(ResolveTarget("/a..b.js") == std::optional<std::string>("a..b.js"));
}

TEST_CASE("missing files and directories are 404") {
  WebRoot w;
  StaticFiles files(w.root);
  CHECK(files.Serve("GET", "/nope.js").status == 404);
  CHECK(files.Serve("GET", "/vendor").status == 404);
  CHECK(files.Serve("GET", "/vendor/uplot-1.6.32").status == 404);
  StaticFiles missing_root(w.dir.path() / "no-such-root");
  CHECK(missing_root.Serve("GET", "/").status == 404);
}

TEST_CASE("a symlink that leaves the root is refused, one inside the root is served") {
  WebRoot w;
  std::filesystem::create_symlink(w.dir.path() / "secret.txt", w.root / "escape.txt");
  std::filesystem::create_symlink(w.root / "app.js", w.root / "alias.js");
  StaticFiles files(w.root);
  auto escaped = files.Serve("GET", "/escape.txt");
  CHECK(escaped.status == 403);
  CHECK(escaped.body.find("outside") == std::string::npos);
  CHECK(files.Serve("GET", "/alias.js").status == 200);
}

TEST_CASE("a root given through a symlink or with a trailing slash still serves its files") {
  WebRoot w;
  std::filesystem::create_directory_symlink(w.root, w.dir.path() / "link");
  CHECK(StaticFiles(w.dir.path() / "link").Serve("GET", "/app.js").status == 200);
  CHECK(StaticFiles(w.root.string() + "/").Serve("GET", "/app.js").status == 200);
}

TEST_CASE("files above the size limit are refused") {
  WebRoot w;
  WriteFile(w.root / "big.bin", std::string(2048, 'x'));
  StaticFiles files(w.root, 1024);
  CHECK(files.Serve("GET", "/big.bin").status == 403);
  CHECK(files.Serve("GET", "/app.js").status == 200);
}
