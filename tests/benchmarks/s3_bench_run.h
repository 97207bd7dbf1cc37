// The 10^7-point run the S3 segment benchmarks chart (bench_s3_segments, bench_pg_segment_index),
// and a client of the test RGW, written once for both.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include <fmt/format.h>

#include "../s3/rgw_test_server.h"
#include "journal/journal_format.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "service/s3/s3_client.h"

namespace runicorn::testing::s3_bench {

using namespace runtrack;

inline constexpr uint64_t kPoints = 10'000'000;
inline constexpr double kStart = 1.7e9 + 12345.678;

// The run's journal written directly (as bench_segments_catalog does): wall times 1 ms apart with
// 20 % jitter, the demo's loss curve rounded to float32.
inline std::string WriteLossRun(const std::filesystem::path& root) {
  std::string id;
  {
    auto store = Store::Open(root);
    auto run = (*store)->CreateRun({});
    id = (*run)->id();
    (void)(*run)->Finish();
  }
  std::ofstream out(StoreLayout(root).journal_path(id), std::ios::binary | std::ios::trunc);
  std::string buf = journal::EncodeHeader();
  journal::AppendRecord(&buf, journal::RecordType::kRunStart,
                        fmt::format(R"({{"id":"{}","project":"bench","name":"s3","created_at":{}}})", id, kStart));
  journal::AppendRecord(&buf, journal::RecordType::kName, journal::EncodeName(1, journal::NameKind::kMetric, "loss"));
  journal::AppendRecord(&buf, journal::RecordType::kName, journal::EncodeName(100, journal::NameKind::kStage, "train"));
  std::mt19937_64 rng(42);
  std::normal_distribution<double> jitter(0, 0.2), noise(0, 0.02);
  double t = kStart;
  std::string points;
  auto flush = [&] {
    journal::AppendRecord(&buf, journal::RecordType::kPoints, points);
    points.clear();
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    buf.clear();
  };
  for (uint64_t s = 1; s <= kPoints; ++s) {
    t += 1e-3 * (1 + jitter(rng));
    const double loss = static_cast<float>(2.3 * std::exp(-static_cast<double>(s) / 3000) + 0.05 + noise(rng) * 0.5);
    journal::PackedPoint p{1, 100, static_cast<int64_t>(s), t, loss};
    points.append(reinterpret_cast<const char*>(&p), sizeof p);
    if (points.size() >= (1u << 20)) flush();
  }
  flush();
  journal::AppendRecord(&buf, journal::RecordType::kStatus, fmt::format(R"({{"status":"finished","ended_at":{}}})", t));
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  return id;
}

inline std::shared_ptr<runicorn::service::s3::S3Client> NewRgwClient(const std::string& bucket) {
  auto& server = runicorn::testing::RgwTestServer::Shared();
  runicorn::service::s3::S3Location loc;
  loc.bucket = bucket;
  loc.prefix = "team";
  loc.endpoint = server.endpoint();
  return std::make_shared<runicorn::service::s3::S3Client>(
      loc, runicorn::service::s3::S3Credentials{runicorn::testing::RgwTestServer::kAccessKey, runicorn::testing::RgwTestServer::kSecretKey, ""});
}

}  // namespace runicorn::testing::s3_bench
