// Artifact chunks in an S3 bucket, by digest: <prefix>/chunks/<first two hex digits>/<sha256 hex>
// — the local blobs/<hh>/<sha256> fan-out, so a whole team's viewers share one deduplicated pool.
// A chunk is immutable and named by its content, so "PUT if absent" is HEAD then PUT: two
// writers racing on one chunk both PUT identical bytes, which S3 makes harmless.
//
// Thread safety: all methods may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "runtrack/status.h"
#include "service/s3/s3_client.h"

namespace runicorn::service::s3 {

class ObjectChunkStore {
 public:
  explicit ObjectChunkStore(std::shared_ptr<S3Client> client) : client_(std::move(client)) {}

  // InvalidArgument unless `hex` is 64 lower-case hex digits (so a name from outside can never
  // form another key).
  static runtrack::Status ValidateDigest(std::string_view hex);
  // "<prefix>/chunks/ab/abcdef..." for a valid digest.
  std::string KeyOf(std::string_view hex) const;

  // Stores `bytes` as chunk `hex` unless the bucket has it already (same size). Returns true when
  // it uploaded, false when the chunk was there. InvalidArgument if the bytes' SHA-256 is not
  // `hex` (a chunk's name is its content: a mismatch would poison every reader of it).
  runtrack::Result<bool> PutIfAbsent(std::string_view hex, std::string_view bytes);
  // The chunk's bytes, verified against its name (Corruption on mismatch); NotFound when absent.
  runtrack::Result<std::string> Get(std::string_view hex);
  // Get, for a chunk a manifest says is `size` bytes: an object larger than that is Corruption
  // as soon as the excess arrives, so a bad object never costs more memory than the chunk.
  runtrack::Result<std::string> Get(std::string_view hex, uint64_t size);
  runtrack::Result<bool> Contains(std::string_view hex);
  // "<prefix>/chunks/": the key prefix every chunk object starts with.
  std::string ChunksPrefix() const;
  // The digest a chunk object key names ("" for a key that is not a chunk of this layout).
  std::string DigestOfKey(std::string_view key) const;

  S3Client& client() { return *client_; }

 private:
  std::shared_ptr<S3Client> client_;
};

}  // namespace runicorn::service::s3
