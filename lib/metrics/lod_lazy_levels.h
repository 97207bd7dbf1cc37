// LodPyramid::LazyLevels: the buckets of a pyramid restored from persisted LOD blocks, loaded one
// block at a time on first access (LodPyramid::FromBlockSource).
//
// A loaded block is never freed or moved while the pyramid lives, so the references readers hold
// (Downsample keeps bucket pointers for a whole query) stay valid; memory is bounded by the
// pyramid's own size, and the owner's pyramid budget (memory_bytes()) counts what was loaded.
// A block that fails to load or fails its shape checks is rebuilt from raw points; if that fails
// too it reads as empty buckets and status() keeps the first error.
//
// Thread safety: Bucket() may be called concurrently; loads are serialised by an internal mutex,
// a loaded block is published with release/acquire so later readers take no lock.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "metrics/lod_pyramid.h"

namespace runtrack {

// Buckets per level of a pyramid of `count` points, as Append() shapes it (empty for 0 points).
std::vector<uint64_t> LodLevelSizes(uint64_t count);

class LodPyramid::LazyLevels {
 public:
  LazyLevels(uint64_t count, std::vector<uint64_t> level_sizes, std::shared_ptr<const LodBlockSource> source,
             LodPointReader fallback);

  const LodBucket& Bucket(size_t k, uint64_t i) const {
    const LodBucket* block = levels_[k].slots[i >> shift_].load(std::memory_order_acquire);
    if (block == nullptr) block = Load(k, i >> shift_, /*strict=*/false, nullptr);
    return block[i & mask_];
  }
  // Loads block j of level k now; with `strict`, a block that fails to load is an error (no
  // rebuild from raw points). Used for the coarse levels at open.
  Status Preload(size_t k, uint64_t j);
  uint64_t block_count(size_t k) const { return levels_[k].blocks.size(); }
  uint64_t block_buckets() const { return mask_ + 1; }
  unsigned block_shift() const { return shift_; }
  const std::atomic<const LodBucket*>* slots(size_t k) const { return levels_[k].slots.get(); }

  Status status() const;
  uint64_t loaded_bytes() const { return loaded_bytes_.load(std::memory_order_relaxed); }
  uint64_t rebuilt_blocks() const { return rebuilt_.load(std::memory_order_relaxed); }

 private:
  struct Level {
    uint64_t size = 0;
    std::unique_ptr<std::atomic<const LodBucket*>[]> slots;  // per block; null until loaded
    std::vector<LodBlockData> blocks;
  };
  const LodBucket* Load(size_t k, uint64_t j, bool strict, Status* error) const;
  // The shape checks one block allows without its neighbours (see LodPyramid::FromLevels).
  Status CheckBlock(size_t k, uint64_t j, const LodBlockData& block) const;
  // Block j of level k summarised afresh from its raw points.
  Status Rebuild(size_t k, uint64_t j, LodBlockData* out) const;

  uint64_t count_;
  unsigned shift_;
  uint64_t mask_;
  std::shared_ptr<const LodBlockSource> source_;
  LodPointReader fallback_;
  mutable std::mutex mu_;
  mutable std::vector<Level> levels_;  // slots/blocks filled under mu_
  mutable Status status_;              // under mu_
  mutable std::atomic<uint64_t> loaded_bytes_{0};
  mutable std::atomic<uint64_t> rebuilt_{0};
};

}  // namespace runtrack
