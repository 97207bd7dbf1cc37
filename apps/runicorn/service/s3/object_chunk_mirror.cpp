#include "service/s3/object_chunk_mirror.h"

#include "service/s3/chunk_references.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

namespace {

Result<std::string> ReadWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read chunk " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read chunk " + path.string());
  return std::move(out).str();
}

}  // namespace

Result<MirrorReport> ObjectChunkMirror::Push() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  MirrorReport report;
  std::error_code ec;
  if (!std::filesystem::is_directory(blobs_dir_, ec)) return report;  // no artifact logged yet
  for (const auto& fan : std::filesystem::directory_iterator(blobs_dir_, ec)) {
    const std::string fan_name = fan.path().filename().string();
    if (fan_name.size() != 2 || !fan.is_directory(ec)) continue;
    std::error_code ec2;
    for (const auto& entry : std::filesystem::directory_iterator(fan.path(), ec2)) {
      std::string hex = entry.path().filename().string();
      if (!ObjectChunkStore::ValidateDigest(hex).ok() || hex.compare(0, 2, fan_name) != 0) continue;
      if (!entry.is_regular_file(ec2)) continue;
      ++report.chunks_seen;
      if (in_bucket_.count(hex)) continue;
      auto bytes = ReadWholeFile(entry.path());
      if (!bytes.ok()) {
        if (!std::filesystem::exists(entry.path(), ec2)) continue;  // collected by gc meanwhile
        return bytes.status();
      }
      auto uploaded = objects_->PutIfAbsent(hex, *bytes);
      if (!uploaded.ok() && uploaded.status().code() == runtrack::StatusCode::kInvalidArgument) {
        ++report.corrupt;
        continue;
      }
      if (!uploaded.ok()) return uploaded.status();
      if (*uploaded) {
        ++report.uploaded;
        report.bytes_uploaded += bytes->size();
      } else {
        ++report.already_present;
      }
      in_bucket_.insert(hex);
    }
  }
  if (ec) return Status::IOError("cannot list " + blobs_dir_.string() + ": " + ec.message());
  if (references_) {
    RUNTRACK_ASSIGN_OR_RETURN(auto referenced, references_());
    if (!published_ || *published_ != referenced) {
      RUNTRACK_RETURN_IF_ERROR(PublishChunkReferences(*objects_, root_, referenced));
      published_ = std::move(referenced);
      report.references_published = true;
    }
  }
  return report;
}

void ObjectChunkMirror::StartInBackground(std::chrono::milliseconds period) {
  background_.Start(period, [this, last_error = std::string()]() mutable {
    auto report = Push();
    if (!report.ok() && report.status().message() != last_error) {
      last_error = report.status().message();
      std::fprintf(stderr, "runicorn viewer: --objects: %s (retrying)\n", last_error.c_str());
    } else if (report.ok()) {
      last_error.clear();
      if (report->corrupt > 0)
        std::fprintf(stderr, "runicorn viewer: --objects: %llu local chunk(s) do not match their names; not uploaded\n",
                     static_cast<unsigned long long>(report->corrupt));
    }
  });
}

void ObjectChunkMirror::Stop() { background_.Stop(); }

}  // namespace runicorn::service::s3
