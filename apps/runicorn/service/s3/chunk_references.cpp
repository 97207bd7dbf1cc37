#include "service/s3/chunk_references.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

namespace {

constexpr std::string_view kHeader = "runicorn-chunk-references 1";

std::string StoreName(const std::filesystem::path& root) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(root, ec);
  if (ec) canonical = std::filesystem::absolute(root, ec);
  std::string path = canonical.string();
  while (path.size() > 1 && path.back() == '/') path.pop_back();  // "/data/a/" is "/data/a"
  return fmt::format("{}:{}", host, path);
}

}  // namespace

std::string StoreReferencesKey(const std::filesystem::path& root) { return Sha256Hex(StoreName(root)).substr(0, 16); }
std::string StoreDisplayName(const std::filesystem::path& root) { return StoreName(root); }

std::string FormatChunkReferences(const std::string& store, std::vector<std::string> digests) {
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  std::string out = fmt::format("{}\nstore {}\n", kHeader, store);
  out.reserve(out.size() + digests.size() * 65);
  for (const auto& d : digests) (out += d) += '\n';
  return out;
}

Status ParseChunkReferences(std::string_view text, std::unordered_set<std::string>* out) {
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return Status::Corruption("chunk reference list is cut short (no final newline)");
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return Status::Corruption(fmt::format("chunk reference list does not start with '{}'", kHeader));
      continue;
    }
    if (line_no == 2 && line.rfind("store ", 0) == 0) continue;
    if (!ObjectChunkStore::ValidateDigest(line).ok())
      return Status::Corruption(fmt::format("chunk reference list line {} is not a SHA-256 digest", line_no));
    out->emplace(line);
  }
  if (line_no == 0) return Status::Corruption("chunk reference list is empty");
  return Status::Ok();
}

Status PublishChunkReferences(ObjectChunkStore& objects, const std::filesystem::path& root,
                              const std::vector<std::string>& digests) {
  const std::string key = objects.client().location().Key("refs/" + StoreReferencesKey(root));
  return objects.client().PutObject(key, FormatChunkReferences(StoreName(root), digests));
}

Result<BucketReferences> ReadChunkReferences(ObjectChunkStore& objects) {
  BucketReferences refs;
  const std::string prefix = objects.client().location().Key("refs/");
  RUNTRACK_ASSIGN_OR_RETURN(auto lists, objects.client().ListAll(prefix));
  for (const auto& list : lists) {
    auto text = objects.client().GetObject(list.key);
    if (!text.ok() && text.status().code() == runtrack::StatusCode::kNotFound) continue;  // deleted meanwhile
    if (!text.ok()) return text.status();
    if (Status s = ParseChunkReferences(*text, &refs.chunks); !s.ok())
      return Status::Corruption(fmt::format("{}/{}: {}", objects.client().location().bucket, list.key, s.message()));
    ++refs.lists;
  }
  return refs;
}

}  // namespace runicorn::service::s3
