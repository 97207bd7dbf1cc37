#include "service/s3/objects_option.h"

#include "service/s3/s3_credentials.h"
#include "service/s3/s3_location.h"

namespace runicorn::service::s3 {

runtrack::Result<std::shared_ptr<ObjectChunkStore>> OpenObjectChunkStore(std::string_view url) {
  RUNTRACK_ASSIGN_OR_RETURN(auto location, ParseS3Url(url));
  RUNTRACK_ASSIGN_OR_RETURN(auto credentials, LoadS3Credentials());
  S3ClientOptions options;
  options.max_attempts = 2;  // at start: fail fast on a wrong endpoint; the mirror retries each pass
  auto probe = std::make_shared<S3Client>(location, credentials, options);
  RUNTRACK_RETURN_IF_ERROR(probe->CheckBucket());
  auto client = std::make_shared<S3Client>(std::move(location), std::move(credentials));
  return std::make_shared<ObjectChunkStore>(std::move(client));
}

runtrack::Result<std::unique_ptr<ObjectChunkMirror>> OpenObjectChunkMirror(std::string_view url,
                                                                           const std::filesystem::path& blobs_dir) {
  RUNTRACK_ASSIGN_OR_RETURN(auto objects, OpenObjectChunkStore(url));
  return std::make_unique<ObjectChunkMirror>(blobs_dir, std::move(objects));
}

}  // namespace runicorn::service::s3
