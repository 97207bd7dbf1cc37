#include "service/s3/object_run_files.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

std::string RunFileObjectPrefix(const S3Location& location, std::string_view run_id) {
  return location.Key(fmt::format("runfiles/{}/", run_id));
}

std::string RunFileObjectKey(const S3Location& location, std::string_view run_id, std::string_view sha256) {
  return location.Key(fmt::format("runfiles/{}/{}", run_id, sha256));
}

Status RunObjectError(const Status& status, std::string_view run_id, std::string_view what, std::string_view key) {
  const StatusCode code = status.code() == StatusCode::kNotFound ? StatusCode::kCorruption : status.code();
  return Status(code, fmt::format("the {} of run {} was published to {} but cannot be read: {}", what, run_id, key,
                                  status.message()));
}

namespace {

// A stream of one object by range windows, hashed as it goes.
class ObjectRunFileStream final : public RunFileStream {
 public:
  ObjectRunFileStream(std::shared_ptr<S3Client> client, std::string run_id, RunFileRow row)
      : client_(std::move(client)), run_id_(std::move(run_id)), row_(std::move(row)), sha_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
  }
  ~ObjectRunFileStream() override { EVP_MD_CTX_free(sha_); }
  uint64_t size() const override { return row_.size; }

  // Reads the next window into the buffer (the first one at OpenFile, so a missing object is an
  // error before any response starts).
  Status Fill() {
    const uint64_t want = std::min(ObjectRunFiles::kWindow, row_.size - fetched_);
    if (want == 0) return Status::Ok();
    auto bytes = client_->GetRange(row_.object_key, fetched_, want);
    // 416: the object ends before this window, as a short answer does below.
    const bool unsatisfiable = !bytes.ok() && bytes.status().code() == StatusCode::kInvalidArgument &&
                               bytes.status().message().find("HTTP 416") != std::string::npos;
    if (!bytes.ok() && !unsatisfiable)
      return RunObjectError(bytes.status(), run_id_, "file " + row_.path, row_.object_key);
    if (unsatisfiable || bytes->size() != want)
      return Status::Corruption(fmt::format("run file {} of run {} in the bucket ({}) is shorter than its {} bytes",
                                            row_.path, run_id_, row_.object_key, row_.size));
    EVP_DigestUpdate(sha_, bytes->data(), bytes->size());
    fetched_ += bytes->size();
    buffer_ = std::move(*bytes);
    pos_ = 0;
    if (fetched_ == row_.size) {
      unsigned char digest[32];
      unsigned int n = 0;
      EVP_DigestFinal_ex(sha_, digest, &n);
      std::string hex;
      for (unsigned i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
      if (hex != row_.sha256) {
        failed_ = Status::Corruption(fmt::format(
            "run file {} of run {} in the bucket ({}) does not match its SHA-256 {}", row_.path, run_id_,
            row_.object_key, row_.sha256));
        return failed_;
      }
    }
    return Status::Ok();
  }

  Result<size_t> Read(char* out, size_t capacity) override {
    if (!failed_.ok()) return failed_;
    if (pos_ == buffer_.size()) {
      if (fetched_ == row_.size) return size_t{0};
      RUNTRACK_RETURN_IF_ERROR(Fill());
    }
    const size_t n = std::min(capacity, buffer_.size() - pos_);
    std::memcpy(out, buffer_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::shared_ptr<S3Client> client_;
  std::string run_id_;
  RunFileRow row_;
  EVP_MD_CTX* sha_;
  uint64_t fetched_ = 0;
  std::string buffer_;
  size_t pos_ = 0;
  Status failed_ = Status::Ok();
};

}  // namespace

Result<RunFileSet> ObjectRunFiles::Published(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  auto indexed = index_->ReadRun(run_id);
  if (!indexed.ok()) {
    if (indexed.status().code() == StatusCode::kIOError)
      return Status::Busy(fmt::format("the run file index (PostgreSQL) is unavailable, retry later: {}",
                                      indexed.status().message()));
    return indexed.status();
  }
  if (indexed->status == runtrack::RunStatus::kRunning)
    return Status::FailedPrecondition(fmt::format(
        "run {} is live on the replica that owns it: its log and files are on that replica's disk until it ends "
        "and they are published",
        run_id));
  if (!indexed->set)
    return Status::FailedPrecondition(fmt::format(
        "run {} is held by another replica and its log and files are not in the bucket yet (they are published "
        "within seconds of the run ending); retry later or ask that replica",
        run_id));
  // A key read back is never used as is: it must be the one this bucket derives.
  auto foreign = [&](const std::string& key) {
    return Status::FailedPrecondition(
        fmt::format("run {} was published to another bucket or prefix ({}), not this viewer's --objects", run_id, key));
  };
  const RunFileSet& set = *indexed->set;
  if (!set.log_key.empty() && set.log_key != RunFileObjectKey(client_->location(), run_id, set.log_sha256))
    return foreign(set.log_key);
  for (const RunFileRow& f : set.files)
    if (f.object_key != RunFileObjectKey(client_->location(), run_id, f.sha256)) return foreign(f.object_key);
  return std::move(*indexed->set);
}

Result<std::string> ObjectRunFiles::GetChecked(std::string_view run_id, std::string_view what, const std::string& key,
                                               uint64_t size, const std::string& sha256) const {
  auto bytes = client_->GetObject(key);
  if (!bytes.ok()) return RunObjectError(bytes.status(), run_id, what, key);
  if (bytes->size() != size || Sha256Hex(*bytes) != sha256)
    return Status::Corruption(fmt::format("the {} of run {} in the bucket ({}) does not match its size {} and SHA-256 {}",
                                          what, run_id, key, size, sha256));
  return bytes;
}

Result<std::string> ObjectRunFiles::ReadLog(std::string_view run_id, uint64_t offset) const {
  RUNTRACK_ASSIGN_OR_RETURN(RunFileSet set, Published(run_id));
  // As the embedded catalog: an offset at or past the end is an empty answer, no read.
  if (offset >= set.log_size) return std::string();
  // The whole object, so its SHA-256 is checked whatever the offset.
  RUNTRACK_ASSIGN_OR_RETURN(std::string log, GetChecked(run_id, "log", set.log_key, set.log_size, set.log_sha256));
  return log.substr(offset);
}

Result<uint64_t> ObjectRunFiles::CountRunFiles(std::string_view run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(RunFileSet set, Published(run_id));
  return set.folder_files;
}

Result<std::vector<PublishedRunFile>> ObjectRunFiles::ListFiles(std::string_view run_id) const {
  RUNTRACK_ASSIGN_OR_RETURN(RunFileSet set, Published(run_id));
  std::vector<PublishedRunFile> out;
  for (RunFileRow& f : set.files) out.push_back({std::move(f.path), f.size});
  return out;
}

Result<RunFileRow> ObjectRunFiles::Find(std::string_view run_id, std::string_view path) const {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunFilePath(path));
  RUNTRACK_ASSIGN_OR_RETURN(RunFileSet set, Published(run_id));
  for (RunFileRow& f : set.files)
    if (f.path == path) return std::move(f);
  return Status::NotFound("Run file not found");
}

Result<std::string> ObjectRunFiles::ReadFile(std::string_view run_id, std::string_view path) const {
  RUNTRACK_ASSIGN_OR_RETURN(RunFileRow row, Find(run_id, path));
  return GetChecked(run_id, "file " + row.path, row.object_key, row.size, row.sha256);
}

Result<std::unique_ptr<RunFileStream>> ObjectRunFiles::OpenFile(std::string_view run_id, std::string_view path) const {
  RUNTRACK_ASSIGN_OR_RETURN(RunFileRow row, Find(run_id, path));
  auto stream = std::make_unique<ObjectRunFileStream>(client_, std::string(run_id), std::move(row));
  RUNTRACK_RETURN_IF_ERROR(stream->Fill());
  return std::unique_ptr<RunFileStream>(std::move(stream));
}

Status ObjectRunFiles::RemoveRun(std::string_view run_id) const {
  RUNTRACK_RETURN_IF_ERROR(runtrack::ValidateRunId(run_id));
  // Rows first, so no reader is sent to an object that is about to go.
  RUNTRACK_RETURN_IF_ERROR(index_->RemoveRun(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto objects, client_->ListAll(RunFileObjectPrefix(client_->location(), run_id)));
  for (const S3ObjectInfo& o : objects) RUNTRACK_RETURN_IF_ERROR(client_->DeleteObject(o.key));
  return Status::Ok();
}

}  // namespace runicorn::service::s3
