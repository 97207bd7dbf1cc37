// Artifact chunk PUT/GET throughput: the S3 object store (a local Ceph RGW over loopback, started
// here like tests/s3 does) against the local file chunk store (blobs/, tmp + fdatasync + rename),
// both with 256 KiB chunks (the FastCDC average). The S3 cases run twice: reuse:0 opens a
// connection per request (the client before connection reuse), reuse:1 keeps them alive.
// Figures: docs/PERFORMANCE.md "S3 object store".
// Without radosgw only the local baselines run.
#include <benchmark/benchmark.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "../s3/rgw_test_server.h"
#include "artifacts/chunk_store.h"
#include "artifacts/layout.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/s3_client.h"

namespace {

namespace fs = std::filesystem;
using runicorn::service::s3::ObjectChunkStore;
using runicorn::service::s3::S3Client;
using runicorn::service::s3::Sha256Hex;

constexpr size_t kChunk = 256 * 1024;

// Distinct chunks: each iteration stores a new one, as a new checkpoint would.
std::string Chunk(uint64_t i) {
  std::string s(kChunk, '\0');
  std::mt19937_64 rng(i);
  for (size_t k = 0; k + 8 <= s.size(); k += 8) {
    uint64_t v = rng();
    std::memcpy(&s[k], &v, 8);
  }
  return s;
}

struct Pool {
  std::vector<std::string> bytes, hex;
  explicit Pool(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      bytes.push_back(Chunk(i + 1000 * static_cast<uint64_t>(::getpid())));
      hex.push_back(Sha256Hex(bytes.back()));
    }
  }
};
Pool& SharedPool() {
  static Pool pool(64);
  return pool;
}

fs::path TempRoot() {
  static fs::path root = [] {
    char tmpl[] = "/tmp/runicorn-bench-s3-XXXXXX";
    return fs::path(::mkdtemp(tmpl));
  }();
  return root;
}

void BM_LocalChunkPut(benchmark::State& state) {
  auto& pool = SharedPool();
  static std::atomic<int> round{0};
  runtrack::artifacts::Layout layout(TempRoot() / fmt::format("local{}", round++));
  fs::create_directories(layout.blobs_dir());
  for (int i = 0; i < 256; ++i) fs::create_directories(layout.blobs_dir() / fmt::format("{:02x}", i));
  size_t i = 0;
  for (auto _ : state) {
    runtrack::artifacts::ChunkStore store(layout, /*sync=*/true);
    // Stage + Publish with sync: what ArtifactStore::Log does per new chunk.
    auto staged = store.Stage(pool.hex[i % pool.hex.size()], pool.bytes[i % pool.hex.size()].data(), kChunk);
    if (!staged.ok()) state.SkipWithError("stage failed");
    if (staged.ok() && *staged) {
      if (!store.Publish(**staged).ok()) state.SkipWithError("publish failed");
    }
    if (++i % pool.hex.size() == 0) {  // start over in a fresh folder: every PUT writes
      state.PauseTiming();
      fs::remove_all(layout.blobs_dir());
      for (int d = 0; d < 256; ++d) fs::create_directories(layout.blobs_dir() / fmt::format("{:02x}", d));
      state.ResumeTiming();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_LocalChunkPut)->UseRealTime();

void BM_LocalChunkGet(benchmark::State& state) {
  auto& pool = SharedPool();
  runtrack::artifacts::Layout layout(TempRoot() / "localget");
  for (size_t i = 0; i < pool.hex.size(); ++i) {
    fs::create_directories(layout.blob_path(pool.hex[i]).parent_path());
    std::ofstream(layout.blob_path(pool.hex[i]), std::ios::binary) << pool.bytes[i];
  }
  size_t i = 0;
  std::string buf(kChunk, '\0');
  for (auto _ : state) {
    std::ifstream in(layout.blob_path(pool.hex[i++ % pool.hex.size()]), std::ios::binary);
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_LocalChunkGet)->UseRealTime();

std::shared_ptr<S3Client> Bucket();

// The same bucket through a client that makes a curl handle (and so a TCP connection) per
// request: the "before" of connection reuse, measured in the same run.
std::shared_ptr<S3Client> BucketWithoutReuse() {
  static std::shared_ptr<S3Client> client = []() -> std::shared_ptr<S3Client> {
    auto reusing = Bucket();
    if (!reusing) return nullptr;
    runicorn::service::s3::S3ClientOptions options;
    options.reuse_connections = false;
    return std::make_shared<S3Client>(reusing->location(),
                                      runicorn::service::s3::S3Credentials{
                                          runicorn::testing::RgwTestServer::kAccessKey,
                                          runicorn::testing::RgwTestServer::kSecretKey, ""},
                                      options);
  }();
  return client;
}

// Arg 1: the pooled client (kept-alive connections, the default); 0: a new connection per call.
std::shared_ptr<S3Client> BucketFor(const benchmark::State& state) {
  return state.range(0) ? Bucket() : BucketWithoutReuse();
}

std::shared_ptr<S3Client> Bucket() {
  static std::shared_ptr<S3Client> client = []() -> std::shared_ptr<S3Client> {
    auto& server = runicorn::testing::RgwTestServer::Shared();
    if (!server.available()) return nullptr;
    std::fprintf(stderr, "Ceph RGW started in %.1f s\n", server.startup_seconds());
    runicorn::service::s3::S3Location loc;
    loc.bucket = "bench";
    loc.endpoint = server.endpoint();
    auto c = std::make_shared<S3Client>(loc, runicorn::service::s3::S3Credentials{
                                                 runicorn::testing::RgwTestServer::kAccessKey,
                                                 runicorn::testing::RgwTestServer::kSecretKey, ""});
    if (!c->CreateBucket().ok()) return nullptr;
    // The first write to a new RGW creates its data pool (seconds): not part of a chunk PUT.
    (void)c->PutObject("warmup", std::string(kChunk, 'w'));
    return c;
  }();
  return client;
}

void BM_S3ChunkPut(benchmark::State& state) {
  auto client = BucketFor(state);
  if (!client) {
    state.SkipWithError("radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  auto& pool = SharedPool();
  static std::atomic<int> round{0};
  const int r = round++;
  size_t i = 0;
  for (auto _ : state) {
    // A fresh key each time: every PUT stores bytes (dedup would skip it).
    if (!client->PutObject(fmt::format("put{}/{}/{}", r, i, pool.hex[i % pool.hex.size()]),
                           pool.bytes[i % pool.hex.size()]).ok())
      state.SkipWithError("put failed");
    ++i;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_S3ChunkPut)->ArgName("reuse")->Arg(0)->Arg(1)->UseRealTime();

void BM_S3ChunkGet(benchmark::State& state) {
  auto client = BucketFor(state);
  if (!client) {
    state.SkipWithError("radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  auto& pool = SharedPool();
  ObjectChunkStore chunks(client);
  for (size_t i = 0; i < pool.hex.size(); ++i)
    if (!chunks.PutIfAbsent(pool.hex[i], pool.bytes[i]).ok()) state.SkipWithError("seed failed");
  size_t i = 0;
  for (auto _ : state) {
    auto bytes = chunks.Get(pool.hex[i++ % pool.hex.size()]);  // includes the SHA-256 check
    if (!bytes.ok()) state.SkipWithError("get failed");
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
}
BENCHMARK(BM_S3ChunkGet)->ArgName("reuse")->Arg(0)->Arg(1)->UseRealTime();

// HEAD of a present chunk: the cost of a deduplicated chunk (no bytes move).
void BM_S3ChunkDedupHead(benchmark::State& state) {
  auto client = BucketFor(state);
  if (!client) {
    state.SkipWithError("radosgw not installed");
    for (auto _ : state) {}
    return;
  }
  auto& pool = SharedPool();
  ObjectChunkStore chunks(client);
  if (!chunks.PutIfAbsent(pool.hex[0], pool.bytes[0]).ok()) state.SkipWithError("seed failed");
  for (auto _ : state) {
    auto uploaded = chunks.PutIfAbsent(pool.hex[0], pool.bytes[0]);
    if (!uploaded.ok() || *uploaded) state.SkipWithError("expected a dedup hit");
  }
}
BENCHMARK(BM_S3ChunkDedupHead)->ArgName("reuse")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(TempRoot(), ec);
  return 0;
}
