// Garbage collection of the bucket's sealed segment and LOD objects, one step of
// CollectBucketChunks (`runicorn gc --objects`, object_chunk_gc.h): an object under
// <prefix>/segments/ goes when no store's segment reference list names its series and its
// LastModified is older than the grace period. Keys under segments/ that are not of this layout
// are left alone.
//
// Thread safety: a free function; safe from any thread.
#pragma once

#include "runtrack/status.h"
#include "service/s3/object_chunk_gc.h"
#include "service/s3/object_segment_references.h"
#include "service/s3/object_segment_store.h"

namespace runicorn::service::s3 {

// `live` as read before anything was listed; objects modified at or after `cutoff` (seconds since
// the epoch) are in their grace period.
runtrack::Result<BucketSegmentGcReport> CollectSegmentObjects(ObjectSegmentStore& segments,
                                                              const BucketSegmentReferences& live, double cutoff,
                                                              const BucketGcOptions& options);

}  // namespace runicorn::service::s3
