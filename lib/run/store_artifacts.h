// detail::StoreArtifacts: the artifact store of one store root, opened once on first use and shared
// by the Store and the Runs it creates (a Run may outlive its Store, e.g. in Python).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "runtrack/artifacts.h"
#include "runtrack/status.h"

namespace runtrack::detail {

class StoreArtifacts {
 public:
  explicit StoreArtifacts(std::filesystem::path root) : root_(std::move(root)) {}

  // Thread-safe. A failed open is not cached: the next call tries again (e.g. once the disk has
  // room for the chunking record).
  Result<std::shared_ptr<ArtifactStore>> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!store_) {
      RUNTRACK_ASSIGN_OR_RETURN(ArtifactStore opened, ArtifactStore::Open(root_));
      store_ = std::make_shared<ArtifactStore>(std::move(opened));
    }
    return store_;
  }

 private:
  const std::filesystem::path root_;
  std::mutex mu_;
  std::shared_ptr<ArtifactStore> store_;
};

}  // namespace runtrack::detail
