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
};

}  // namespace runtrack
