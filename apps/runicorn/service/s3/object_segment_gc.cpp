#include "service/s3/object_segment_gc.h"

namespace runicorn::service::s3 {

runtrack::Result<BucketSegmentGcReport> CollectSegmentObjects(ObjectSegmentStore& segments,
                                                              const BucketSegmentReferences& live, double cutoff,
                                                              const BucketGcOptions& options) {
  BucketSegmentGcReport report;
  report.reference_lists = live.lists;
  std::string token;
  do {
    RUNTRACK_ASSIGN_OR_RETURN(auto page, segments.client().ListObjects(segments.SegmentsPrefix(), token));
    for (const auto& object : page.objects) {
      const std::optional<std::string> name = segments.NameOfKey(object.key);
      if (!name) continue;  // not ours: leave it alone
      if (live.names.count(*name)) {
        ++report.objects_kept;
        continue;
      }
      // As for chunks: an unreadable LastModified (0) counts as old only if the grace is 0.
      if (object.last_modified >= cutoff || (object.last_modified == 0 && options.grace.count() > 0)) {
        ++report.objects_in_grace;
        continue;
      }
      if (!options.dry_run) RUNTRACK_RETURN_IF_ERROR(segments.client().DeleteObject(object.key));
      ++report.objects_removed;
      report.bytes_freed += object.size;
    }
    token = std::move(page.next_token);
  } while (!token.empty());
  return report;
}

}  // namespace runicorn::service::s3
