// What an ArtifactHandle holds: the verified manifest of one version and where its chunks live.
#pragma once

#include "artifacts/layout.h"
#include "artifacts/manifest.h"
#include "runtrack/artifacts.h"

namespace runtrack {

struct ArtifactHandle::Impl {
  artifacts::Layout layout;
  artifacts::Manifest manifest;
  ArtifactVersionInfo info;
  std::vector<ArtifactFileInfo> files;

  // The manifest record of `path`, or NotFound naming the version and (some of) its files.
  Result<const artifacts::FileRecord*> FindFile(std::string_view path) const;
};

}  // namespace runtrack
