#include "service/s3/object_chunk_gc.h"

#include "service/s3/chunk_references.h"
#include "service/s3/object_segment_gc.h"
#include "service/s3/object_segment_references.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

Result<BucketGcReport> CollectBucketChunks(ObjectChunkStore& objects, const std::filesystem::path& root,
                                          const std::vector<std::string>& referenced,
                                          const BucketGcOptions& options) {
  if (options.grace.count() < 0) return Status::InvalidArgument("grace period must not be negative");
  // Order matters (as in lib/artifacts/gc.cpp): the live set is read before the chunks are
  // listed, so a chunk uploaded after the read is fresh when the listing sees it.
  RUNTRACK_RETURN_IF_ERROR(PublishChunkReferences(objects, root, referenced));
  RUNTRACK_ASSIGN_OR_RETURN(BucketReferences live, ReadChunkReferences(objects));
  // The segment store shares the chunk store's client; this call outlives neither (non-owning).
  ObjectSegmentStore segments(std::shared_ptr<S3Client>(std::shared_ptr<S3Client>(), &objects.client()));
  RUNTRACK_ASSIGN_OR_RETURN(BucketSegmentReferences live_segments, ReadSegmentReferences(segments));
  const double now = options.now > 0 ? options.now
                                     : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double cutoff = now - static_cast<double>(options.grace.count());
  BucketGcReport report;
  report.reference_lists = live.lists;
  std::string token;
  do {
    RUNTRACK_ASSIGN_OR_RETURN(auto page, objects.client().ListObjects(objects.ChunksPrefix(), token));
    for (const auto& object : page.objects) {
      const std::string hex = objects.DigestOfKey(object.key);
      if (hex.empty()) continue;  // not ours: leave it alone
      if (live.chunks.count(hex)) {
        ++report.objects_kept;
        continue;
      }
      // An unreadable LastModified (0) counts as old only if the grace is 0: otherwise keep it.
      if (object.last_modified >= cutoff || (object.last_modified == 0 && options.grace.count() > 0)) {
        ++report.objects_in_grace;
        continue;
      }
      if (!options.dry_run) RUNTRACK_RETURN_IF_ERROR(objects.client().DeleteObject(object.key));
      ++report.objects_removed;
      report.bytes_freed += object.size;
    }
    token = std::move(page.next_token);
  } while (!token.empty());
  RUNTRACK_ASSIGN_OR_RETURN(report.segments, CollectSegmentObjects(segments, live_segments, cutoff, options));
  return report;
}

}  // namespace runicorn::service::s3
