#include "service/s3/catalog_references.h"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "service/s3/chunk_references.h"

namespace runicorn::service::s3 {

using runtrack::Result;

std::string CatalogReferencesKey(const std::string& catalog_id, const std::filesystem::path& root) {
  return "catalog-" + Sha256Hex(fmt::format("catalog {}|{}", catalog_id, StoreDisplayName(root))).substr(0, 16);
}

CatalogReferencesPublisher::CatalogReferencesPublisher(std::shared_ptr<ObjectChunkStore> objects,
                                                       std::string catalog_id, const std::filesystem::path& root,
                                                       ReferencesFn references)
    : objects_(std::move(objects)),
      key_(objects_->client().location().Key("refs/" + CatalogReferencesKey(catalog_id, root))),
      display_(fmt::format("catalog {} via {}", catalog_id, StoreDisplayName(root))),
      references_(std::move(references)) {}

Result<bool> CatalogReferencesPublisher::Publish() {
  std::lock_guard<std::mutex> pass(pass_mu_);
  RUNTRACK_ASSIGN_OR_RETURN(std::vector<std::string> referenced, references_());
  std::sort(referenced.begin(), referenced.end());
  if (published_ && *published_ == referenced) return false;
  RUNTRACK_RETURN_IF_ERROR(objects_->client().PutObject(key_, FormatChunkReferences(display_, referenced)));
  published_ = std::move(referenced);
  return true;
}

void CatalogReferencesPublisher::StartInBackground(std::chrono::milliseconds period) {
  background_.Start(period, [this, last_error = std::string()]() mutable {
    auto published = Publish();
    if (!published.ok() && published.status().message() != last_error) {
      last_error = published.status().message();
      std::fprintf(stderr, "runicorn viewer: artifact catalog reference list: %s (retrying)\n", last_error.c_str());
    } else if (published.ok()) {
      last_error.clear();
    }
  });
}

void CatalogReferencesPublisher::Stop() { background_.Stop(); }

}  // namespace runicorn::service::s3
