// `runicorn viewer --objects`: the real binary, a real Ceph RGW. An artifact logged into the
// viewer's store lands as chunks in the bucket, the file reassembled from the bucket and the
// viewer's download are both byte-identical. (Dedup by request counts: object_chunks_test.cpp.)
#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace fs = std::filesystem;
using runicorn::service::s3::ObjectChunkStore;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::S3Location;

namespace {

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

size_t Append(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// GET through libcurl; the body and the HTTP status.
std::pair<long, std::string> HttpGet(const std::string& url) {
  std::string body;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(curl);
  return {code, body};
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void LogModel(const fs::path& root, const std::string& name, const std::string& bytes) {
  const fs::path src = root.parent_path() / ("src-" + name + ".bin");
  std::ofstream(src, std::ios::binary) << bytes;
  auto store = runtrack::ArtifactStore::Open(root);
  REQUIRE(store.ok());
  auto artifact = runtrack::Artifact::Create(name, runtrack::ArtifactType::kModel);
  REQUIRE(artifact.ok());
  REQUIRE(artifact->AddFile(src, "weights.bin").ok());
  REQUIRE(store->Log(*artifact, "").ok());
}

std::vector<std::string> ManifestChunks(const fs::path& root, const std::string& name) {
  std::ifstream in(runtrack::StoreLayout(root).artifacts_dir() / "model" / name / "v1" / "manifest.json");
  REQUIRE(in);
  auto doc = boost::json::parse(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  std::vector<std::string> out;
  for (const auto& file : doc.at("files").as_array())
    for (const auto& chunk : file.at("chunks").as_array()) out.emplace_back(chunk.at("sha256").as_string());
  return out;
}

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/runicorn-s3-viewer-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("viewer --objects publishes artifact chunks to the bucket, once", "[s3][rgw][viewer]") {
  RUNICORN_S3_TEST_SERVER(server);
  TempDir tmp;
  const fs::path root = tmp.path / "store";
  fs::create_directories(root);
  S3Location loc;
  loc.bucket = fmt::format("rt-viewer-{}", ::getpid());
  loc.prefix = "team";
  loc.endpoint = server.endpoint();
  const runicorn::service::s3::S3Credentials creds{runicorn::testing::RgwTestServer::kAccessKey,
                                                   runicorn::testing::RgwTestServer::kSecretKey, ""};
  auto client = std::make_shared<S3Client>(loc, creds);
  REQUIRE(client->CreateBucket().ok());
  ObjectChunkStore chunks(client);
  const std::string url = fmt::format("s3://{}/team?endpoint={}", loc.bucket, server.endpoint());
  const std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", creds.access_key_id},
                                                  {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key},
                                                  {"HOME", tmp.path.string()}};

  SECTION("a logged artifact lands as chunks and downloads byte-identical") {
    runicorn::testing::RunicornProcess viewer("viewer", {"--storage", root.string(), "--port", "0", "--objects", url}, env, tmp.path);
    const int port = viewer.WaitForPort();
    INFO(viewer.err());
    REQUIRE(port > 0);

    const std::string weights = RandomBytes(2 * 1024 * 1024 + 99, 11);
    LogModel(root, "net", weights);
    const auto digests = ManifestChunks(root, "net");
    REQUIRE(digests.size() > 1);
    const std::set<std::string> distinct(digests.begin(), digests.end());

    // The mirror runs every 2 s: wait (bounded) until every chunk is in the bucket.
    std::vector<runicorn::service::s3::S3ObjectInfo> listed;
    for (int i = 0; i < 300; ++i) {
      auto l = client->ListAll("team/chunks/");
      REQUIRE(l.ok());
      listed = *l;
      if (listed.size() >= distinct.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::set<std::string> keys;
    for (const auto& o : listed) keys.insert(o.key);
    std::set<std::string> expected;
    for (const auto& hex : distinct) expected.insert(fmt::format("team/chunks/{}/{}", hex.substr(0, 2), hex));
    CHECK(keys == expected);

    std::string from_bucket;
    for (const auto& hex : digests) {
      auto bytes = chunks.Get(hex);
      REQUIRE(bytes.ok());
      from_bucket += *bytes;
    }
    CHECK(from_bucket == weights);
    auto [code, body] = HttpGet(fmt::format("http://127.0.0.1:{}/api/artifacts/net/v1/download?path=weights.bin", port));
    CHECK(code == 200);
    CHECK(body == weights);

    viewer.Stop();
  }

  SECTION("a bad --objects URL or missing credentials stop the viewer with a clear message") {
    {
      runicorn::testing::RunicornProcess viewer("viewer", {"--storage", root.string(), "--port", "0", "--objects", "s3://Bad_Bucket"}, env, tmp.path);
      CHECK(viewer.WaitExit() == 2);
      CHECK(viewer.err() == "runicorn viewer: --objects: bucket name may hold only a-z, 0-9, '.' and '-'\n");
    }
    {
      runicorn::testing::RunicornProcess viewer("viewer", {"--storage", root.string(), "--port", "0", "--objects", url},
                           {{"HOME", tmp.path.string()}}, tmp.path);
      CHECK(viewer.WaitExit() != 0);
      CHECK(viewer.err() == fmt::format("runicorn viewer: no S3 credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
                                        "are not set and {}/.aws/credentials cannot be read\n",
                                        tmp.path.string()));
    }
    {
      const std::string wrong = "this-is-the-wrong-secret";
      runicorn::testing::RunicornProcess viewer("viewer", {"--storage", root.string(), "--port", "0", "--objects", url},
                           {{"HOME", tmp.path.string()}, {"AWS_ACCESS_KEY_ID", creds.access_key_id},
                            {"AWS_SECRET_ACCESS_KEY", wrong}},
                           tmp.path);
      CHECK(viewer.WaitExit() != 0);
      const std::string err = viewer.err();
      CHECK(err == fmt::format("runicorn viewer: s3: HeadBucket bucket {}: HTTP 403 (check the S3 credentials and the "
                               "bucket's policy)\n",
                               loc.bucket));
      CHECK(err.find(wrong) == std::string::npos);
    }
  }
}

TEST_CASE("viewer --objects serves downloads from the bucket when blobs/ lacks the chunks", "[s3][rgw][viewer]") {
  RUNICORN_S3_TEST_SERVER(server);
  TempDir tmp;
  const fs::path root = tmp.path / "store";
  fs::create_directories(root);
  S3Location loc;
  loc.bucket = fmt::format("rt-reads-{}", ::getpid());
  loc.prefix = "team";
  loc.endpoint = server.endpoint();
  const runicorn::service::s3::S3Credentials creds{runicorn::testing::RgwTestServer::kAccessKey,
                                                   runicorn::testing::RgwTestServer::kSecretKey, ""};
  auto client = std::make_shared<S3Client>(loc, creds);
  REQUIRE(client->CreateBucket().ok());
  ObjectChunkStore chunks(client);
  const std::string url = fmt::format("s3://{}/team?endpoint={}", loc.bucket, server.endpoint());
  runicorn::testing::RunicornProcess viewer("viewer", {"--storage", root.string(), "--port", "0", "--objects", url},
                       {{"AWS_ACCESS_KEY_ID", creds.access_key_id},
                        {"AWS_SECRET_ACCESS_KEY", creds.secret_access_key},
                        {"HOME", tmp.path.string()}},
                       tmp.path);
  const int port = viewer.WaitForPort();
  INFO(viewer.err());
  REQUIRE(port > 0);

  const std::string weights = RandomBytes(2 * 1024 * 1024 + 99, 12);
  const std::string tiny = RandomBytes(1000, 13);  // one chunk
  LogModel(root, "net", weights);
  LogModel(root, "tiny", tiny);
  const auto net_chunks = ManifestChunks(root, "net");
  const auto tiny_chunks = ManifestChunks(root, "tiny");
  REQUIRE(net_chunks.size() >= 3);
  REQUIRE(tiny_chunks.size() == 1);
  std::set<std::string> distinct(net_chunks.begin(), net_chunks.end());
  distinct.insert(tiny_chunks[0]);
  // Wait (bounded) for the mirror to upload every chunk, then take them off the local disk.
  for (int i = 0; i < 300; ++i) {
    auto l = client->ListAll("team/chunks/");
    REQUIRE(l.ok());
    if (l->size() >= distinct.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const runtrack::StoreLayout layout(root);
  for (const auto& hex : distinct) {
    auto in_bucket = chunks.Contains(hex);
    REQUIRE(in_bucket.ok());
    REQUIRE(*in_bucket);
    REQUIRE(fs::remove(layout.blobs_dir() / hex.substr(0, 2) / hex));
  }
  const std::string base = fmt::format("http://127.0.0.1:{}/api/artifacts/", port);

  // Every byte from the bucket, verified: identical to what was logged.
  auto [code, body] = HttpGet(base + "net/v1/download?path=weights.bin");
  CHECK(code == 200);
  CHECK(body == weights);
  auto [tiny_code, tiny_body] = HttpGet(base + "tiny/v1/download?path=weights.bin");
  CHECK(tiny_code == 200);
  CHECK(tiny_body == tiny);

  // A chunk corrupted in the bucket: its first chunk is fetched before the response starts, so
  // the client gets a 500 saying which chunk and where, not wrong bytes.
  const std::string& bad = tiny_chunks[0];
  REQUIRE(client->PutObject(chunks.KeyOf(bad), RandomBytes(1000, 99)).ok());
  auto [bad_code, bad_body] = HttpGet(base + "tiny/v1/download?path=weights.bin");
  CHECK(bad_code == 500);
  CHECK(bad_body == fmt::format(R"({{"detail":"chunk {0} of file 'weights.bin' is not in blobs/, and reading it from )"
                                R"(s3://{1}/team failed: chunk {0} in the bucket does not match its SHA-256 name"}})",
                                bad, loc.bucket));

  // A later chunk corrupted: the body stops short (after the headers there is no status left to
  // send), and what did arrive is a prefix of the file.
  REQUIRE(client->PutObject(chunks.KeyOf(net_chunks.back()), RandomBytes(1000, 98)).ok());
  auto [cut_code, cut_body] = HttpGet(base + "net/v1/download?path=weights.bin");
  CHECK(cut_code == 200);
  CHECK(cut_body.size() < weights.size());
  CHECK(weights.compare(0, cut_body.size(), cut_body) == 0);

  // A chunk in neither place: 404 naming both.
  const std::string gone = net_chunks.front();
  REQUIRE(client->DeleteObject(chunks.KeyOf(gone)).ok());
  auto [gone_code, gone_body] = HttpGet(base + "net/v1/download?path=weights.bin");
  CHECK(gone_code == 404);
  CHECK(gone_body.find(fmt::format("chunk {} of file 'weights.bin' is not in blobs/, and reading it from s3://{}/team "
                                   "failed: s3: GetObject {}/team/chunks/",
                                   gone, loc.bucket, loc.bucket)) != std::string::npos);
  viewer.Stop();
}
