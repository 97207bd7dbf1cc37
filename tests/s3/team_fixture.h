// The team back end as the S3 tests share it: one private PostgreSQL database, one bucket prefix on
// Ceph RGW, and real `runicorn viewer --catalog … --objects …` replicas on them; plus the small
// HTTP and file helpers those tests use. Header-only: each test program includes it once.
#pragma once

#include <catch2/catch.hpp>

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "rgw_test_server.h"
#include "runicorn_process.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace runicorn::testing {

// A private folder under /tmp, removed at scope exit.
struct ScratchDir {
  fs::path path;
  explicit ScratchDir(const std::string& tag = "team") {
    std::string tmpl = "/tmp/runicorn-s3-" + tag + "-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

// `n` bytes that do not compress or repeat (so every content-defined chunk is new), fixed by `seed`.
inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

inline std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct HttpReply {
  long status = 0;
  std::string body;
  // The body as JSON; null when it is not JSON.
  boost::json::value json() const {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    return ec ? boost::json::value() : v;
  }
  // The API error body's "detail"; "" when there is none.
  std::string detail() const {
    auto v = json();
    if (!v.is_object() || !v.as_object().contains("detail") || !v.at("detail").is_string()) return "";
    return std::string(v.at("detail").as_string());
  }
};

namespace team_detail {
inline size_t AppendBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}
}  // namespace team_detail

// One request through libcurl with the given body, Content-Type and bearer token.
inline HttpReply Http(const std::string& method, const std::string& url, const std::string* body = nullptr,
                      const std::string& content_type = "application/json", const std::string& token = "") {
  HttpReply r;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, team_detail::AppendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_slist* headers = nullptr;
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  if (body != nullptr) {
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}
inline HttpReply HttpGet(const std::string& url, const std::string& token = "") {
  return Http("GET", url, nullptr, "", token);
}

// Polls `done` until it holds (the viewers' background passes run every 2 s); false after a minute.
template <typename Done>
bool Eventually(const Done& done) {
  for (int i = 0; i < 600; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// One PostgreSQL database and one bucket prefix ("team"), as a team shares them, and the replicas
// started on them (each with its own store folder under `tmp`).
struct TeamBackEnd {
  ScratchDir tmp;
  std::string conninfo;
  service::s3::S3Location loc;
  std::shared_ptr<service::s3::S3Client> client;
  std::shared_ptr<service::s3::ObjectChunkStore> chunks;
  std::string url;                         // the replicas' --objects
  std::map<std::string, std::string> env;  // credentials for the replicas, never on a command line

  // `bucket`: a name unique to the test case (the process id is appended).
  TeamBackEnd(const std::string& pg_conninfo, const std::string& endpoint, const std::string& bucket)
      : conninfo(pg_conninfo) {
    REQUIRE_FALSE(conninfo.empty());
    loc.bucket = fmt::format("{}-{}", bucket, ::getpid());
    loc.prefix = "team";
    loc.endpoint = endpoint;
    client = std::make_shared<service::s3::S3Client>(
        loc, service::s3::S3Credentials{RgwTestServer::kAccessKey, RgwTestServer::kSecretKey, ""});
    REQUIRE(client->CreateBucket().ok());
    chunks = std::make_shared<service::s3::ObjectChunkStore>(client);
    url = fmt::format("s3://{}/team?endpoint={}", loc.bucket, endpoint);
    env = {{"AWS_ACCESS_KEY_ID", RgwTestServer::kAccessKey},
           {"AWS_SECRET_ACCESS_KEY", RgwTestServer::kSecretKey},
           {"HOME", tmp.path.string()}};
  }

  // `runicorn viewer` on the team back end with its store in tmp/NAME/store; `*port` is where it
  // listens.
  std::unique_ptr<RunicornProcess> Replica(const std::string& name, int* port) {
    fs::create_directories(tmp.path / name);
    auto p = std::make_unique<RunicornProcess>(
        "viewer",
        std::vector<std::string>{"--storage", (tmp.path / name / "store").string(), "--port", "0", "--catalog",
                                 conninfo, "--objects", url},
        env, tmp.path / name);
    *port = p->WaitForPort();
    INFO(p->err());
    REQUIRE(*port > 0);
    return p;
  }

  // Every chunk object in the bucket.
  std::set<std::string> ChunkKeys() {
    auto listed = client->ListAll("team/chunks/");
    REQUIRE(listed.ok());
    std::set<std::string> keys;
    for (const auto& o : *listed) keys.insert(o.key);
    return keys;
  }
  // The object keys of chunk digests (digest -> size).
  std::set<std::string> KeysOf(const std::map<std::string, uint64_t>& digests) {
    std::set<std::string> keys;
    for (const auto& [hex, size] : digests) keys.insert(chunks->KeyOf(hex));
    return keys;
  }
};

}  // namespace runicorn::testing
