// Responses that are streamed rather than built whole (BodySource): artifact downloads and large
// static files arrive byte-exact, with Content-Length, and HEAD/If-None-Match behave as for small
// bodies.
#include <algorithm>
#include <fstream>
#include <random>

#include <catch2/catch.hpp>

#include "beast_aliases.h"
#include "server_fixture.h"

namespace runicorn::testing {
namespace {

void WriteFile(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

}  // namespace

TEST_CASE("an artifact file larger than any chunk downloads byte-exact in pieces", "[server][streaming]") {
  TestServer srv;
  const std::string bytes = RandomBytes(9u << 20, 7);  // several 64K..2M chunks
  WriteFile(srv.dir() / "src" / "weights.bin", bytes);
  auto a = runtrack::Artifact::Create("big-model", runtrack::ArtifactType::kModel);
  REQUIRE(a.ok());
  REQUIRE(a->AddFile(srv.dir() / "src" / "weights.bin").ok());
  auto store = srv.store().artifacts();
  REQUIRE(store.ok());
  REQUIRE((*store)->Log(*a, "").ok());
  srv.Sync();  // on the team back end: published to PostgreSQL and the bucket

  HttpClient c(srv.port());
  auto r = c.Get("/api/artifacts/big-model/v1/download?path=weights.bin");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-length") == std::to_string(bytes.size()));
  CHECK(r.header("content-type") == "application/octet-stream");
  CHECK(r.header("content-disposition") == "attachment; filename=\"weights.bin\"");
  CHECK(r.body == bytes);
  // The connection stays usable after a streamed body.
  CHECK(c.Get("/api/health").status == 200);
  auto head = c.Request(http::verb::head, "/api/artifacts/big-model/v1/download?path=weights.bin");
  CHECK(head.status == 200);
  CHECK(head.header("content-length") == std::to_string(bytes.size()));
  CHECK(head.body.empty());
  // Errors are decided before the first byte, with the usual error body.
  CHECK(c.Get("/api/artifacts/big-model/v1/download?path=nope.bin").status == 404);
  CHECK(c.Get("/api/artifacts/big-model/v1/download?path=..%2Fx").status == 400);
}

TEST_CASE("a corrupted chunk ends the download early instead of sending wrong bytes", "[server][streaming]") {
  TestServer srv;
  const std::string bytes = RandomBytes(6u << 20, 11);
  WriteFile(srv.dir() / "src" / "w.bin", bytes);
  auto a = runtrack::Artifact::Create("m", runtrack::ArtifactType::kModel);
  REQUIRE(a.ok());
  REQUIRE(a->AddFile(srv.dir() / "src" / "w.bin").ok());
  auto store = srv.store().artifacts();
  REQUIRE(store.ok());
  REQUIRE((*store)->Log(*a, "").ok());
  srv.Sync();
  auto files = (*store)->ListFiles("m", 1);
  REQUIRE(files.ok());
  REQUIRE(files->files.at(0).num_chunks >= 3);
  // Flip a byte in the last chunk file written (any chunk but the first would do).
  std::vector<std::filesystem::path> chunks;
  for (const auto& e : std::filesystem::recursive_directory_iterator(srv.store().layout().blobs_dir()))
    if (e.is_regular_file() && e.path().filename().string().size() == 64) chunks.push_back(e.path());
  REQUIRE(chunks.size() >= 3);
  std::sort(chunks.begin(), chunks.end());
  for (size_t i = 1; i < chunks.size(); ++i) {
    std::fstream f(chunks[i], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x5a' ^ static_cast<char>(f.peek()));
  }
  // Whatever arrives is a prefix of the file, and never all of it.
  net::io_context io;
  tcp::socket sock(io);
  sock.connect({net::ip::make_address("127.0.0.1"), srv.port()});
  http::request<http::string_body> req(http::verb::get, "/api/artifacts/m/v1/download?path=w.bin", 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(sock, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  beast::error_code ec;
  http::read(sock, buffer, parser, ec);
  const std::string& got = parser.get().body();
  const unsigned status = parser.get().result_int();
  INFO("status " << status << ", " << got.size() << " bytes: " << got.substr(0, 200));
  // With a chunk source attached (the team back end's bucket) the reader loads the file's first
  // chunk before the answer starts (ArtifactHandle::OpenFile), so damage there is an error answer;
  // damage met later ends the body early. Either way no wrong byte is sent.
  if (status == 500) {
    CHECK(got.find("does not match its digest") != std::string::npos);
  } else {
    CHECK(status == 200);
    CHECK(ec);  // the connection closed before Content-Length bytes arrived
    CHECK(got.size() < bytes.size());
    CHECK(bytes.compare(0, got.size(), got) == 0);
  }
}

TEST_CASE("a large static file is streamed with a metadata ETag, small ones keep the content ETag",
          "[server][streaming][web]") {
  ServerConfig config;
  runtrack::testing::TempDir web;
  WriteFile(web.path() / "index.html", "<html></html>\n");
  const std::string big = RandomBytes(3u << 20, 3);
  WriteFile(web.path() / "vendor" / "big.js", big);
  config.web_root = web.path();
  TestServer srv(config);
  HttpClient c(srv.port());
  auto r = c.Get("/vendor/big.js");
  REQUIRE(r.status == 200);
  CHECK(r.body == big);
  CHECK(r.header("content-length") == std::to_string(big.size()));
  const std::string etag = r.header("etag");
  REQUIRE(etag.rfind("\"m", 0) == 0);
  CHECK(c.Get("/vendor/big.js", {{"if-none-match", etag}}).status == 304);
  auto head = c.Request(http::verb::head, "/vendor/big.js");
  CHECK(head.status == 200);
  CHECK(head.header("content-length") == std::to_string(big.size()));
  auto small = c.Get("/");
  CHECK(small.body == "<html></html>\n");
  CHECK(small.header("etag").rfind("\"m", 0) != 0);
}

}  // namespace runicorn::testing
