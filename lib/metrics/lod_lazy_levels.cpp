#include "metrics/lod_lazy_levels.h"

#include <algorithm>
#include <bit>
#include <string>

namespace runtrack {

std::vector<uint64_t> LodLevelSizes(uint64_t count) {
  std::vector<uint64_t> sizes;
  if (count == 0) return sizes;
  sizes.push_back((count + LodPyramid::kRawChunkPoints - 1) / LodPyramid::kRawChunkPoints);
  // Append adds a level above as soon as the top one has a second bucket.
  while (sizes.back() > 1) sizes.push_back((sizes.back() + LodPyramid::kFanout - 1) / LodPyramid::kFanout);
  return sizes;
}

LodPyramid::LazyLevels::LazyLevels(uint64_t count, std::vector<uint64_t> level_sizes,
                                   std::shared_ptr<const LodBlockSource> source, LodPointReader fallback)
    : count_(count),
      shift_(static_cast<unsigned>(std::countr_zero(source->block_buckets()))),
      mask_(source->block_buckets() - 1),
      source_(std::move(source)),
      fallback_(std::move(fallback)),
      levels_(level_sizes.size()) {
  for (size_t k = 0; k < levels_.size(); ++k) {
    Level& l = levels_[k];
    l.size = level_sizes[k];
    const uint64_t blocks = (l.size + mask_) >> shift_;
    l.slots = std::make_unique<std::atomic<const LodBucket*>[]>(blocks);
    for (uint64_t j = 0; j < blocks; ++j) l.slots[j].store(nullptr, std::memory_order_relaxed);
    l.blocks.resize(blocks);
  }
}

Status LodPyramid::LazyLevels::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

Status LodPyramid::LazyLevels::Preload(size_t k, uint64_t j) {
  Status error;
  Load(k, j, /*strict=*/true, &error);
  return error;
}

Status LodPyramid::LazyLevels::CheckBlock(size_t k, uint64_t j, const LodBlockData& block) const {
  const uint64_t size = levels_[k].size, first = j << shift_;
  const uint64_t want = std::min<uint64_t>(mask_ + 1, size - first);
  auto bad = [&](uint64_t i, const std::string& what) {
    return Status::Corruption("LOD level " + std::to_string(k) + " bucket " + std::to_string(i) + ": " + what);
  };
  if (block.count != want || block.buckets == nullptr) {
    return Status::Corruption("LOD level " + std::to_string(k) + " block " + std::to_string(j) + " holds " +
                              std::to_string(block.count) + " buckets, expected " + std::to_string(want));
  }
  const uint64_t span = BucketSpan(k);
  for (uint64_t n = 0; n < block.count; ++n) {
    const LodBucket& b = block.buckets[n];
    const uint64_t i = first + n, begin = i * span;
    // Every bucket is full except the last of its level, which holds the rest of the points.
    const uint64_t count = i + 1 < size ? span : count_ - begin;
    if (b.count != count) return bad(i, "count out of range");
    const uint64_t end = begin + count;
    auto inside = [&](const OrdinalPoint& p) { return p.ordinal >= begin && p.ordinal < end; };
    if (b.nonfinite_count > b.count) return bad(i, "more non-finite values than points");
    if (b.first.ordinal != begin || b.last.ordinal != end - 1) return bad(i, "first/last ordinals misplaced");
    if (b.has_finite() && (!inside(b.min) || !inside(b.max))) return bad(i, "min/max outside the bucket");
    if (b.nonfinite_count > 0 && !inside(b.first_nonfinite)) return bad(i, "first non-finite outside the bucket");
  }
  return Status::Ok();
}

Status LodPyramid::LazyLevels::Rebuild(size_t k, uint64_t j, LodBlockData* out) const {
  if (!fallback_) return Status::FailedPrecondition("no raw points to rebuild a LOD block from");
  const uint64_t points_per_block = BucketSpan(k) << shift_;
  const uint64_t begin = j * points_per_block, end = std::min(count_, begin + points_per_block);
  // begin is a multiple of the level's bucket span, so the buckets of a pyramid of just these
  // points are the block's buckets, ordinals shifted by `begin`.
  LodPyramid part;
  constexpr uint64_t kBatch = 64 * kRawChunkPoints;
  std::vector<MetricPoint> points;
  for (uint64_t at = begin; at < end; at += kBatch) {
    points.clear();
    const uint64_t to = std::min(end, at + kBatch);
    RUNTRACK_RETURN_IF_ERROR(fallback_(at, to, &points));
    if (points.size() != to - at) {
      return Status::Corruption("raw point reader returned " + std::to_string(points.size()) + " points for ordinals [" +
                                std::to_string(at) + ", " + std::to_string(to) + ")");
    }
    part.Append(points);
  }
  // A block of one bucket may lie above the part's top level; that top bucket covers it all.
  auto buckets = std::make_shared<std::vector<LodBucket>>(part.levels_[std::min(k, part.levels_.size() - 1)]);
  for (LodBucket& b : *buckets) {
    b.first.ordinal += begin;
    b.last.ordinal += begin;
    // Fields that are not meaningful keep Append's defaults, as in the stored block.
    if (b.has_finite()) {
      b.min.ordinal += begin;
      b.max.ordinal += begin;
    }
    if (b.nonfinite_count > 0) b.first_nonfinite.ordinal += begin;
  }
  out->buckets = buckets->data();
  out->count = buckets->size();
  out->storage = std::move(buckets);
  return CheckBlock(k, j, *out);
}

const LodBucket* LodPyramid::LazyLevels::Load(size_t k, uint64_t j, bool strict, Status* error) const {
  std::lock_guard lock(mu_);
  Level& l = levels_[k];
  if (const LodBucket* loaded = l.slots[j].load(std::memory_order_relaxed)) return loaded;
  LodBlockData block;
  Status s = source_->LoadBlock(k, j, &block);
  if (s.ok()) s = CheckBlock(k, j, block);
  if (!s.ok() && strict) {
    *error = s;
    return nullptr;
  }
  if (!s.ok()) {
    block = LodBlockData();
    Status rebuilt = Rebuild(k, j, &block);
    if (rebuilt.ok()) {
      rebuilt_.fetch_add(1, std::memory_order_relaxed);
    } else {
      // Readers need buckets at stable addresses whatever happens; the error marks the answers.
      if (status_.ok()) {
        status_ = Status::Corruption(s.message() + "; rebuilding it from the raw points failed: " + rebuilt.ToString());
      }
      auto empty = std::make_shared<std::vector<LodBucket>>(std::min<uint64_t>(mask_ + 1, l.size - (j << shift_)));
      block.buckets = empty->data();
      block.count = empty->size();
      block.storage = std::move(empty);
    }
  }
  loaded_bytes_.fetch_add(block.count * sizeof(LodBucket), std::memory_order_relaxed);
  const LodBucket* data = block.buckets;
  l.blocks[j] = std::move(block);
  l.slots[j].store(data, std::memory_order_release);
  return data;
}

}  // namespace runtrack
