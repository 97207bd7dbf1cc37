#include "service/s3/s3_file_upload.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace runicorn::service::s3 {

namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;

namespace {

class File {
 public:
  explicit File(const fs::path& path) : fd_(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }

  // Fills `buf` up to `want` bytes (fewer only at the end of the file).
  Result<size_t> Fill(char* buf, size_t want) {
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::read(fd_, buf + got, want - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::IOError("read failed");
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  int fd_;
};

struct Sha256 {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  Sha256() { EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr); }
  void Update(std::string_view bytes) { EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()); }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out.push_back(hex[md[i] >> 4]);
      out.push_back(hex[md[i] & 15]);
    }
    return out;
  }
};

Status Changed(const fs::path& path, std::string_view why) {
  return Status::Busy(fmt::format("{} changed while it was uploaded ({}); not committed", path.string(), why));
}

}  // namespace

Result<FileUploadResult> UploadFile(S3Client& client, std::string_view key, const fs::path& path,
                                    const std::optional<std::string>& expected_sha256,
                                    const FileUploadOptions& options) {
  if (options.multipart_threshold == 0) return Status::InvalidArgument("s3 upload: multipart_threshold must be > 0");
  if (options.part_size < kMinMultipartPartBytes)
    return Status::InvalidArgument(fmt::format("s3 upload: part_size must be at least {} bytes (S3's minimum)",
                                               kMinMultipartPartBytes));
  File file(path);
  if (file.fd() < 0) return Status::IOError(fmt::format("cannot open {}", path.string()));
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0 || !S_ISREG(st.st_mode))
    return Status::IOError(fmt::format("{} is not a regular file", path.string()));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto check_sha = [&](std::string* sha, uint64_t sent) -> Status {
    if (expected_sha256 && *sha != *expected_sha256)
      return Changed(path, fmt::format("{} bytes read, SHA-256 {} instead of {}", sent, *sha, *expected_sha256));
    return Status::Ok();
  };

  FileUploadResult result;
  if (size <= options.multipart_threshold) {
    // One PUT from memory: at most the threshold (one byte more tells a file that grew).
    std::string bytes(static_cast<size_t>(size) + 1, '\0');
    auto got = file.Fill(bytes.data(), bytes.size());
    if (!got.ok()) return Status::IOError(fmt::format("cannot read {}", path.string()));
    if (*got > options.multipart_threshold) return Changed(path, "it grew past the single-PUT size");
    bytes.resize(*got);
    Sha256 sha;
    sha.Update(bytes);
    result.sha256 = sha.Hex();
    result.size = bytes.size();
    RUNTRACK_RETURN_IF_ERROR(check_sha(&result.sha256, result.size));
    RUNTRACK_RETURN_IF_ERROR(client.PutObject(key, bytes));
    if (options.progress) RUNTRACK_RETURN_IF_ERROR(options.progress(result.size));
    return result;
  }

  // Parts: the configured size, or larger (whole MiB) when 10000 of those would not hold the file.
  uint64_t part_size = options.part_size;
  if (const uint64_t needed = (size + kMaxMultipartParts - 1) / kMaxMultipartParts; needed > part_size)
    part_size = (needed + (1u << 20) - 1) / (1u << 20) * (1u << 20);
  RUNTRACK_ASSIGN_OR_RETURN(const std::string upload_id, client.CreateMultipartUpload(key));
  // From here every failure gives the upload up, so no parts are left behind.
  auto give_up = [&](Status failure) -> Status {
    Status aborted = client.AbortMultipartUpload(key, upload_id);
    if (aborted.ok()) return failure;
    return Status(failure.code(), fmt::format("{} (and aborting multipart upload {} failed: {})", failure.message(),
                                              upload_id, aborted.message()));
  };
  std::string buffer(static_cast<size_t>(part_size), '\0');
  std::vector<S3CompletedPart> parts;
  Sha256 sha;
  uint64_t sent = 0;
  for (;;) {
    auto got = file.Fill(buffer.data(), buffer.size());
    if (!got.ok()) return give_up(Status::IOError(fmt::format("cannot read {}", path.string())));
    if (*got == 0 && !parts.empty()) break;
    if (parts.size() == static_cast<size_t>(kMaxMultipartParts))
      return give_up(Changed(path, fmt::format("it grew past {} parts", kMaxMultipartParts)));
    const std::string_view part(buffer.data(), *got);
    sha.Update(part);
    const int number = static_cast<int>(parts.size()) + 1;
    auto etag = client.UploadPart(key, upload_id, number, part);
    if (!etag.ok()) return give_up(etag.status());
    parts.push_back({number, std::move(*etag)});
    sent += *got;
    if (options.progress)
      if (Status go_on = options.progress(sent); !go_on.ok()) return give_up(go_on);
    if (*got < buffer.size()) break;  // the end of the file
  }
  result.sha256 = sha.Hex();
  result.size = sent;
  result.parts = static_cast<int>(parts.size());
  if (Status same = check_sha(&result.sha256, sent); !same.ok()) return give_up(same);
  if (Status done = client.CompleteMultipartUpload(key, upload_id, parts); !done.ok()) return give_up(done);
  return result;
}

Result<uint64_t> AbortStaleMultipartUploads(S3Client& client, std::string_view prefix, double now,
                                            double min_age_seconds) {
  RUNTRACK_ASSIGN_OR_RETURN(auto uploads, client.ListMultipartUploads(prefix));
  uint64_t aborted = 0;
  for (const S3MultipartUploadInfo& upload : uploads) {
    // An upload without a readable start time is left alone: its age is unknown.
    if (upload.initiated <= 0 || now - upload.initiated < min_age_seconds) continue;
    RUNTRACK_RETURN_IF_ERROR(client.AbortMultipartUpload(upload.key, upload.upload_id));
    ++aborted;
  }
  return aborted;
}

}  // namespace runicorn::service::s3
