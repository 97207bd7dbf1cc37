#include "service/s3/object_chunk_store.h"

#include <algorithm>

#include <fmt/format.h>

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

Status ObjectChunkStore::ValidateDigest(std::string_view hex) {
  bool ok = hex.size() == 64;
  for (char c : hex) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) return Status::InvalidArgument("chunk digests are 64 lower-case hex digits (SHA-256)");
  return Status::Ok();
}

std::string ObjectChunkStore::KeyOf(std::string_view hex) const {
  return client_->location().Key(fmt::format("chunks/{}/{}", hex.substr(0, 2), hex));
}

Result<bool> ObjectChunkStore::PutIfAbsent(std::string_view hex, std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateDigest(hex));
  if (Sha256Hex(bytes) != hex)
    return Status::InvalidArgument(fmt::format("chunk {}: the bytes' SHA-256 differs from the name", hex));
  const std::string key = KeyOf(hex);
  auto head = client_->HeadObject(key);
  if (head.ok() && head->size == bytes.size()) return false;
  if (!head.ok() && head.status().code() != runtrack::StatusCode::kNotFound) return head.status();
  // Absent, or a wrong-sized leftover (a torn upload cannot exist in S3, but a foreign writer
  // could have put one): overwrite it with the right bytes.
  RUNTRACK_RETURN_IF_ERROR(client_->PutObject(key, bytes));
  return true;
}

Result<std::string> ObjectChunkStore::Get(std::string_view hex) {
  RUNTRACK_RETURN_IF_ERROR(ValidateDigest(hex));
  RUNTRACK_ASSIGN_OR_RETURN(auto bytes, client_->GetObject(KeyOf(hex)));
  if (Sha256Hex(bytes) != hex)
    return Status::Corruption(fmt::format("chunk {} in the bucket does not match its SHA-256 name", hex));
  return bytes;
}

Result<std::string> ObjectChunkStore::Get(std::string_view hex, uint64_t size) {
  RUNTRACK_RETURN_IF_ERROR(ValidateDigest(hex));
  std::string bytes;
  bytes.reserve(std::min<uint64_t>(size, 64u << 20));  // a manifest's size, but capped all the same
  bool too_big = false;
  Status got = client_->GetObject(KeyOf(hex), [&](std::string_view piece) {
    if (bytes.size() + piece.size() > size) {
      too_big = true;
      return false;
    }
    bytes.append(piece);
    return true;
  });
  if (too_big)
    return Status::Corruption(fmt::format("chunk {} in the bucket is larger than the {} bytes it should hold", hex, size));
  RUNTRACK_RETURN_IF_ERROR(got);
  if (Sha256Hex(bytes) != hex)
    return Status::Corruption(fmt::format("chunk {} in the bucket does not match its SHA-256 name", hex));
  return bytes;
}

std::string ObjectChunkStore::ChunksPrefix() const { return client_->location().Key("chunks/"); }

std::string ObjectChunkStore::DigestOfKey(std::string_view key) const {
  const std::string prefix = ChunksPrefix();
  if (key.size() != prefix.size() + 3 + 64 || key.substr(0, prefix.size()) != prefix) return "";
  std::string_view rest = key.substr(prefix.size());  // "ab/abcd..."
  std::string_view hex = rest.substr(3);
  if (rest[2] != '/' || rest.substr(0, 2) != hex.substr(0, 2) || !ValidateDigest(hex).ok()) return "";
  return std::string(hex);
}

Result<bool> ObjectChunkStore::Contains(std::string_view hex) {
  RUNTRACK_RETURN_IF_ERROR(ValidateDigest(hex));
  auto head = client_->HeadObject(KeyOf(hex));
  if (head.ok()) return true;
  if (head.status().code() == runtrack::StatusCode::kNotFound) return false;
  return head.status();
}

}  // namespace runicorn::service::s3
